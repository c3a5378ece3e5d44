//! log-delivery: SQS batches of CloudTrail records (EventBridge events, bare records or arrays)
//! in, CloudTrail-format log files in the trail bucket out, with a partial batch response.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use trailwarden::aws::s3::{S3Store, Sse};
use trailwarden::delivery::{deliver_batch_owned, DeliveryConfig, Message};
use trailwarden::functions::LOG_DELIVERY as SPEC;
use trailwarden::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    SPEC.check_required()?;
    let cfg = DeliveryConfig::from_env_with(&|n| SPEC.env(n))?;
    let sse = cfg.sse_kms_key_id.clone().map(Sse::Kms).unwrap_or(Sse::S3);
    let store = S3Store::from_env(sse).await;
    let (cfg, store) = (&cfg, &store);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let msgs: Vec<Message> = event
            .payload
            .records
            .into_iter()
            .enumerate()
            .map(|(i, m)| Message {
                id: m.message_id.unwrap_or_else(|| format!("message-{i}")),
                body: m.body.unwrap_or_default(),
                sent: m
                    .attributes
                    .get("SentTimestamp")
                    .and_then(|t| t.parse::<i64>().ok())
                    .and_then(chrono::DateTime::from_timestamp_millis),
            })
            .collect();
        let report = deliver_batch_owned(store, cfg, msgs, chrono::Utc::now()).await;
        tracing::info!(
            files = report.files.len(),
            records = report.records_delivered,
            filtered = report.records_filtered,
            rejected = report.records_rejected,
            quarantined = report.quarantined.len(),
            retry = report.failed_message_ids.len(),
            "batch delivered"
        );
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = report
            .failed_message_ids
            .into_iter()
            .map(|id| {
                let mut f = BatchItemFailure::default();
                f.item_identifier = id;
                f
            })
            .collect();
        Ok::<_, Error>(response)
    }))
    .await
}

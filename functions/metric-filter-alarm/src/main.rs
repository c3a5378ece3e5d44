//! metric-filter-alarm: CloudWatch-style metric filters and alarms on the trail's CloudTrail
//! records, with the 15 CIS AWS Foundations monitoring filters and alarms built in.
//!
//! Triggers (the event is taken as JSON and dispatched on its shape):
//! - S3 object-created notifications for new log files of the trail bucket (CloudTrail
//!   `{"Records":[...]}` gzip files, written by log-delivery or by CloudTrail itself; digests and
//!   other keys are ignored);
//! - CloudWatch Logs subscription payloads (`{"awslogs":{"data":"<base64 gzip>"}}`) from the
//!   trail's log group, one CloudTrail record per log event (`CONTROL_MESSAGE` is ignored).
//!
//! Each invocation writes the filters' datapoints to stdout as Embedded Metric Format
//! documents (CloudWatch Logs turns them into metrics), updates every alarm's state in the trail
//! bucket and publishes CloudWatch's alarm message, with the matching records, to SNS on a
//! change to ALARM and back to OK. The response is the invocation's report; the invocation
//! fails (and Lambda retries it) only for problems a retry may fix.
//!
//! Environment:
//! - `TRAIL_BUCKET` (required): the trail bucket; alarm states are kept in it under
//!   `trailwarden-state/alarms/<alarm name>.json`.
//! - `ALERT_TOPIC_ARN`: SNS topic for the alerts (unset: alarms are evaluated and logged only).
//! - `METRIC_NAMESPACE`: namespace of the CIS metrics and alarms (default `CISBenchmark`).
//! - `FILTERS_FILE`: optional path of a YAML or JSON file of user filters and alarms (see
//!   `trailwarden::alerting::filters`).
//! - `ENABLE_CIS_FILTERS`: `true` (default) or `false`.
//! - `AWS_REGION`: the region (set by Lambda), used in alarm ARNs and messages.
//! - `STATE_PREFIX` (default `trailwarden-state/alarms`), `MAX_DECOMPRESSED_BYTES` (default
//!   512 MiB: larger log files are rejected as possible decompression bombs), `SSE_KMS_KEY_ID`
//!   (SSE-KMS for the state objects; default SSE-S3), `RUST_LOG` (default `info`).

use std::io::Write;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use trailwarden::alerting::{Alerting, AlertingConfig};
use trailwarden::aws::s3::{S3Store, Sse};
use trailwarden::aws::sns::SnsNotifier;
use trailwarden::notify::Notifier;
use trailwarden::telemetry::{self, env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let config = AlertingConfig::from_env_with(&env)?;
    let engine = config.engine()?;
    tracing::info!(
        filters = engine.filters().len(),
        alarms = engine.alarms().len(),
        "filters loaded"
    );
    let sse = env("SSE_KMS_KEY_ID")
        .filter(|k| !k.is_empty())
        .map(Sse::Kms)
        .unwrap_or(Sse::S3);
    let store = S3Store::from_env(sse).await;
    let notifier = match &config.topic_arn {
        Some(arn) => Some(SnsNotifier::from_env(arn.clone()).await),
        None => {
            tracing::warn!("ALERT_TOPIC_ARN is not set: alarms are evaluated but not published");
            None
        }
    };
    let (config, engine, store, notifier) = (&config, &engine, &store, &notifier);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let alerting = Alerting {
            store,
            notifier: notifier.as_ref().map(|n| n as &dyn Notifier),
            engine,
            config,
        };
        let report = alerting
            .handle_event(&event.payload, chrono::Utc::now())
            .await;
        // The metrics: EMF documents on stdout, one per line, on purpose.
        let mut out = std::io::stdout().lock();
        for doc in &report.emf {
            let _ = writeln!(out, "{doc}");
        }
        let _ = out.flush();
        if !report.errors.is_empty() {
            return Err(Error::from(format!(
                "{} problem(s) that a retry may fix: {}",
                report.errors.len(),
                report.errors.join("; ")
            )));
        }
        Ok::<_, Error>(serde_json::to_value(&report)?)
    }))
    .await
}

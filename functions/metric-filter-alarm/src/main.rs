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
//! Configure one of the two per trail: the same record arriving both ways is counted twice.
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
use trailwarden::functions::METRIC_FILTER_ALARM as SPEC;
use trailwarden::notify::Notifier;
use trailwarden::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    SPEC.check_required()?;
    let env = |n: &str| SPEC.env(n);
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

#[cfg(test)]
mod tests {
    //! The sample events in `events/metric-filter-alarm/` are what AWS sends (they parse as the
    //! official event types) and do what the README says through the function's logic.

    use aws_lambda_events::event::cloudwatch_logs::LogsEvent;
    use aws_lambda_events::event::s3::S3Event;
    use serde_json::Value;
    use trailwarden::alerting::{Alerting, AlertingConfig};
    use trailwarden::notify::MemoryNotifier;
    use trailwarden::store::{MemoryStore, ObjectStore, Put};

    fn sample(name: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../events/metric-filter-alarm")
            .join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn samples_parse_as_the_official_event_types() {
        let s3: S3Event = serde_json::from_str(&sample("s3-object-created.json")).unwrap();
        let r = &s3.records[0];
        assert_eq!(r.event_name.as_deref(), Some("ObjectCreated:Put"));
        assert_eq!(r.s3.bucket.name.as_deref(), Some("trailwarden-trail"));
        assert!(r.s3.object.key.as_deref().unwrap().ends_with(".json.gz"));
        let logs: LogsEvent =
            serde_json::from_str(&sample("cloudwatch-logs-subscription.json")).unwrap();
        assert_eq!(logs.aws_logs.data.message_type, "DATA_MESSAGE");
        assert_eq!(logs.aws_logs.data.log_events.len(), 8);
        for e in &logs.aws_logs.data.log_events {
            let rec: Value = serde_json::from_str(&e.message).unwrap();
            assert!(rec["eventName"].is_string());
        }
        let decoded: Value =
            serde_json::from_str(&sample("cloudwatch-logs-subscription.decoded.json")).unwrap();
        assert_eq!(
            decoded["logEvents"][6]["message"],
            logs.aws_logs.data.log_events[6].message.as_str()
        );
        let ctl: LogsEvent =
            serde_json::from_str(&sample("cloudwatch-logs-control-message.json")).unwrap();
        assert_eq!(ctl.aws_logs.data.message_type, "CONTROL_MESSAGE");
    }

    #[tokio::test]
    async fn samples_do_what_the_readme_says() {
        let store = MemoryStore::new();
        let notifier = MemoryNotifier::default();
        let mut config = AlertingConfig::new("trailwarden-trail", "us-east-1");
        config.topic_arn = Some("arn:aws:sns:us-east-1:218007301253:alerts".into());
        let engine = config.engine().unwrap();
        let a = Alerting {
            store: &store,
            notifier: Some(&notifier),
            engine: &engine,
            config: &config,
        };
        let event: Value = serde_json::from_str(&sample("s3-object-created.json")).unwrap();
        let key = event["Records"][0]["s3"]["object"]["key"].as_str().unwrap();
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../../../shared/data/cloudtrail/invictus-ir/218007301253_CloudTrail_us-east-1_20230710T1205Z_SjF3IkuNXJkoHyar.json",
        );
        let body = trailwarden::gz::compress(&std::fs::read(file).unwrap(), 6);
        store
            .put(
                "trailwarden-trail",
                key,
                Put {
                    body,
                    ..Put::default()
                },
            )
            .await
            .unwrap();
        let now = chrono::Utc::now();
        let r = a.handle_event(&event, now).await;
        assert_eq!(r.records, 26, "{r:?}");
        let alarms = |n: &MemoryNotifier| -> Vec<String> {
            n.messages()
                .iter()
                .map(|(s, _)| s.clone())
                .filter(|s| s.starts_with("ALARM:"))
                .collect()
        };
        assert_eq!(
            alarms(&notifier),
            ["ALARM: \"CloudTrailChanges\" in US East (N. Virginia)"]
        );

        let event: Value =
            serde_json::from_str(&sample("cloudwatch-logs-subscription.json")).unwrap();
        let r = a.handle_event(&event, now).await;
        assert_eq!(r.records, 8);
        assert!(r.bad_inputs.is_empty() && r.errors.is_empty(), "{r:?}");
        let mut got = alarms(&notifier);
        got.sort();
        assert_eq!(
            got,
            [
                "ALARM: \"CloudTrailChanges\" in US East (N. Virginia)",
                "ALARM: \"CloudTrailChanges\" in US East (N. Virginia)",
                "ALARM: \"ConsoleSigninWithoutMFA\" in US East (N. Virginia)",
                "ALARM: \"SecurityGroupChanges\" in US East (N. Virginia)",
                "ALARM: \"UnauthorizedAPICalls\" in US East (N. Virginia)",
            ]
        );

        let event: Value =
            serde_json::from_str(&sample("cloudwatch-logs-control-message.json")).unwrap();
        let r = a.handle_event(&event, now).await;
        assert_eq!(r.records, 0);
        assert_eq!(r.skipped.len(), 1);
        assert!(r.bad_inputs.is_empty());
    }
}

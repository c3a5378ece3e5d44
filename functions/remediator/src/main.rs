//! remediator: EventBridge events in (`Config Rules Compliance Change` with NON_COMPLIANT, and
//! `AWS API Call via CloudTrail` for StopLogging/DeleteTrail/UpdateTrail/PutEventSelectors on
//! the suite's trail), runbooks run against the resource, one SNS report per remediation.
//!
//! Configuration (environment):
//! - `TRAIL_BUCKET` (required): the trail bucket; the attempt/exception state is kept there
//!   under `[S3_KEY_PREFIX/]trailwarden/remediation/`, and the trail's log files there are
//!   searched for "who caused it".
//! - `S3_KEY_PREFIX`: the trail's key prefix.
//! - `ALERT_TOPIC_ARN` (required): the SNS topic the reports are published to.
//! - `TRAIL_ARN`: the suite's own trail (needed for the tampering trigger).
//! - `RULE_RUNBOOKS`: JSON object, Config rule name → runbook name, or
//!   `{"runbook": NAME, "parameters": {...}, "dryRun": true|false}`. `trailwarden runbooks`
//!   lists the runbooks and their parameters.
//! - `DRY_RUN`: `true` to only report the calls that would be made (every rule).
//! - `EXEMPT_RESOURCE_IDS`: comma-separated resource ids never remediated (resources tagged
//!   `trailwarden:exempt=true` are skipped too).
//! - `MAX_ATTEMPTS` (default 5, 1-25) attempts within `RETRY_WINDOW_SECONDS` (default 60) per
//!   resource; then a remediation exception is recorded and alerted instead of another attempt.
//! - `CAUSE_LOOKBACK_DAYS` (default 7), `CAUSE_MAX_FILES` (default 500): bounds of the search.
//! - The standard AWS variables (`AWS_REGION`, `AWS_ENDPOINT_URL`, ...).
//!
//! The function returns a short JSON summary. Bad input (malformed event, unknown rule) is
//! reported and returns normally, so EventBridge does not retry it; only a report that could
//! not be published returns an error (Lambda's own retries then apply).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use trailwarden::aws::s3::{S3Store, Sse};
use trailwarden::aws::sns::SnsNotifier;
use trailwarden::functions::REMEDIATOR as SPEC;
use trailwarden::remediation::{Handled, RemediationSettings, Remediator};
use trailwarden::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    SPEC.check_required()?;
    let settings = RemediationSettings::from_env_with(&|n| SPEC.env(n))?;
    let topic = SPEC
        .env("ALERT_TOPIC_ARN")
        .filter(|s| !s.trim().is_empty())
        .ok_or("ALERT_TOPIC_ARN is required")?;
    let store = S3Store::from_env(Sse::S3).await;
    let notifier = SnsNotifier::from_env(topic).await;
    let cloud = trailwarden::aws::cloud_from_env().await;
    let remediator = Remediator {
        settings: &settings,
        store: &store,
        notifier: &notifier,
        cloud: &cloud,
    };
    let remediator = &remediator;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let handled = remediator.handle(&event.payload, chrono::Utc::now()).await;
        let summary = handled.summary();
        tracing::info!(summary = %summary, "event handled");
        match handled {
            Handled::Reported {
                published: Err(e), ..
            } => Err(Error::from(e.to_string())),
            _ => Ok::<_, Error>(summary),
        }
    }))
    .await
}

//! log-validator: on the daily schedule, validates the last 24 hours of every account/region of
//! the trail and publishes one SNS alert listing every problem (nothing when all is valid).

use chrono::Duration;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use trailwarden::aws::s3::S3Store;
use trailwarden::aws::sns::SnsNotifier;
use trailwarden::functions::LOG_VALIDATOR as SPEC;
use trailwarden::layout::parse_time;
use trailwarden::notify::Notifier;
use trailwarden::signer::read_public_keys;
use trailwarden::telemetry;
use trailwarden::validate::{validate_recent, ValidateRequest};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    SPEC.check_required()?;
    let env = |n: &str| SPEC.env(n);
    let (location, trail) = trailwarden::delivery::trail_from_env(&env)?;
    let hours: i64 = env("VALIDATION_WINDOW_HOURS")
        .map(|h| h.parse())
        .transpose()?
        .unwrap_or(24);
    let mut keys = Vec::new();
    if env("SIGNING_KEY_ID").is_some() || env("SIGNING_PRIVATE_KEY_PEM").is_some() {
        keys.push(
            trailwarden::aws::signer_from_env(&env)
                .await?
                .public_key()
                .await?,
        );
    }
    if let Some(extra) = env("PUBLIC_KEYS_JSON").filter(|s| !s.is_empty()) {
        keys.extend(read_public_keys(extra.as_bytes())?);
    }
    if keys.is_empty() {
        return Err("no public key: set SIGNING_KEY_ID or PUBLIC_KEYS_JSON".into());
    }
    let store = S3Store::for_validation_from_env().await;
    let notifier = match env("ALERT_TOPIC_ARN").filter(|s| !s.is_empty()) {
        Some(arn) => Some(SnsNotifier::from_env(arn).await),
        None => None,
    };
    let (store, notifier, keys, location, trail) = (&store, &notifier, &keys, &location, &trail);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let end = match event.payload.get("time").and_then(Value::as_str) {
            Some(t) => {
                parse_time(t).ok_or_else(|| format!("event time {t:?} is not a timestamp"))?
            }
            None => chrono::Utc::now(),
        };
        let req = ValidateRequest::new(
            trail.clone(),
            location.clone(),
            end - Duration::hours(hours),
            end,
            keys.clone(),
        );
        let n = notifier.as_ref().map(|n| n as &dyn Notifier);
        let summary = validate_recent(store, n, &req).await?;
        if summary.problems.is_empty() {
            tracing::info!(
                chains = summary.chains,
                digests = summary.valid_digests,
                logs = summary.valid_logs,
                "trail valid"
            );
        } else {
            for p in &summary.problems {
                tracing::warn!(problem = %p, "integrity problem");
            }
        }
        Ok::<_, Error>(serde_json::to_value(&summary)?)
    }))
    .await
}

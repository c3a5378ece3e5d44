//! digest-signer: on the hourly schedule, writes one signed, chained digest per account/region
//! for the hour ending at the schedule event's `time` (so a run is reproducible).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use trailwarden::aws::s3::{S3Store, Sse};
use trailwarden::digest::{sign_all, SignerConfig};
use trailwarden::functions::DIGEST_SIGNER as SPEC;
use trailwarden::layout::parse_time;
use trailwarden::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    SPEC.check_required()?;
    let env = |n: &str| SPEC.env(n);
    let (location, trail) = trailwarden::delivery::trail_from_env(&env)?;
    let cfg = SignerConfig::new(location, trail);
    let sse = env("SSE_KMS_KEY_ID")
        .filter(|s| !s.is_empty())
        .map(Sse::Kms)
        .unwrap_or(Sse::S3);
    let store = S3Store::from_env(sse).await;
    let signer = trailwarden::aws::signer_from_env(&env).await?;
    let (cfg, store, signer) = (&cfg, &store, signer.as_ref());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let end = match event.payload.get("time").and_then(Value::as_str) {
            Some(t) => parse_time(t).ok_or_else(|| format!("event time {t:?} is not a timestamp"))?,
            None => chrono::Utc::now(),
        };
        let signed = sign_all(store, signer, cfg, end).await?;
        for s in &signed {
            tracing::info!(key = %s.key, log_files = s.log_files, created = s.created, chain_start = s.chain_start, "digest");
        }
        Ok::<_, Error>(serde_json::json!({
            "digests": signed.iter().map(|s| serde_json::json!({
                "key": s.key, "logFiles": s.log_files, "created": s.created, "chainStart": s.chain_start
            })).collect::<Vec<_>>()
        }))
    }))
    .await
}

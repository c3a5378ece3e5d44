//! config-rule-evaluator: the Lambda behind trailwarden's AWS Config custom rules (all 19 rules;
//! the rule is the `rule` rule parameter or the Config rule name). See the library for the
//! handler.

use config_rule_evaluator::{RawBody, RawBodyLayer};
use lambda_runtime::{layers, service_fn, Diagnostic, Error, LambdaEvent, Runtime};
use trailwarden::aws::config::AwsConfigClient;
use trailwarden::config::EvaluatorOptions;
use trailwarden::functions::CONFIG_RULE_EVALUATOR as SPEC;
use trailwarden::telemetry;

/// The evaluator allocates a few hundred small values per event; mimalloc handles them about
/// twice as fast as the system allocator (see `shared/benches/config_rules.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    SPEC.check_required()?;
    let client = AwsConfigClient::from_env().await;
    let options = EvaluatorOptions::default();
    let (client, options) = (&client, &options);
    // The event's text reaches the handler as delivered (see `RawBody`); the runtime decodes
    // only the `null` left in its place.
    let raw = RawBody::default();
    let handler = {
        let raw = raw.clone();
        service_fn(move |event: LambdaEvent<()>| {
            let body = raw.take(&event.context.request_id);
            async move {
                let body = body.ok_or_else(|| Diagnostic {
                    error_type: "InvalidEventException".into(),
                    error_message: "InvalidEventException: the invocation has no event body".into(),
                })?;
                config_rule_evaluator::handle(client, options, &body).await
            }
        })
    };
    Runtime::new(handler)
        .layer(layers::TracingLayer::new())
        .layer(RawBodyLayer(raw))
        .run()
        .await
}

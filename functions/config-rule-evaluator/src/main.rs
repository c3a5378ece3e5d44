//! config-rule-evaluator: the Lambda behind trailwarden's AWS Config custom rules (all 19 rules;
//! the rule is the `rule` rule parameter or the Config rule name). See the library for the
//! handler.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use trailwarden::aws::config::AwsConfigClient;
use trailwarden::config::EvaluatorOptions;
use trailwarden::functions::CONFIG_RULE_EVALUATOR as SPEC;
use trailwarden::telemetry;

/// Every event is parsed into a JSON tree (two, with the `invokingEvent` string): mimalloc
/// handles those many small allocations about twice as fast as the system allocator (see
/// `shared/benches/config_rules.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    SPEC.check_required()?;
    let client = AwsConfigClient::from_env().await;
    let options = EvaluatorOptions::default();
    let (client, options) = (&client, &options);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        config_rule_evaluator::handle(client, options, event.payload).await
    }))
    .await
}

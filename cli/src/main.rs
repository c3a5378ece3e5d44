//! `trailwarden`: the suite's jobs by hand (backfills, imports, scripts, investigations).

mod filters;
mod progress;
mod remediate;
mod rules;
mod trail;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "trailwarden",
    version,
    about = "Tamper-evident CloudTrail-compatible audit trail and compliance automation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write CloudTrail-format log files exactly as the log-delivery function does.
    Deliver(trail::DeliverArgs),
    /// Write the signed, chained digests for the hour ending at --end-time.
    SignDigest(trail::SignArgs),
    /// Validate log files and digests (same flags, output and exit codes as `aws cloudtrail validate-logs`, stricter checks).
    ValidateLogs(trail::ValidateArgs),
    /// Print a signing key's public key as CloudTrail's ListPublicKeys JSON (for validators).
    PublicKey(trail::PublicKeyArgs),
    /// Run one remediation runbook against a resource and print the execution record as JSON.
    Remediate(remediate::RemediateArgs),
    /// List the remediation runbooks and their parameters.
    Runbooks(remediate::RunbooksArgs),
    /// Evaluate an AWS Config rule offline on a configuration item, a Config rule event or account data.
    EvaluateRule(rules::EvaluateRuleArgs),
    /// List the AWS Config rules with their parameters and defaults.
    Rules(rules::RulesArgs),
    /// Test a filter pattern on log events, as `aws logs test-metric-filter` does.
    TestMetricFilter(filters::TestMetricFilterArgs),
    /// Run the metric filters and their alarms over archived log files (local or S3) and print, per filter, the matches per period and every alarm state change: what the alarms would have done.
    Replay(filters::ReplayArgs),
}

fn main() -> ExitCode {
    trailwarden::telemetry::init_cli();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Deliver(a) => trail::deliver(a).await,
            Command::SignDigest(a) => trail::sign_digest(a).await,
            // Run on a worker thread rather than the main thread: the responses it waits for are
            // read by the workers, and waking a worker's own task is cheaper than waking the
            // main thread for every one.
            Command::ValidateLogs(a) => match tokio::spawn(trail::validate_logs(a)).await {
                Ok(r) => r,
                Err(e) => Err(format!("validation task failed: {e}").into()),
            },
            Command::PublicKey(a) => trail::public_key(a).await,
            Command::Remediate(a) => remediate::remediate(a).await,
            Command::Runbooks(a) => remediate::list(a).await,
            Command::EvaluateRule(a) => rules::evaluate_rule(a),
            Command::Rules(a) => rules::rules(a),
            Command::TestMetricFilter(a) => filters::test_metric_filter(a),
            Command::Replay(a) => filters::replay(a).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

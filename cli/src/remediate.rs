//! `remediate` (one runbook against one resource) and `runbooks` (the list).

use std::fmt::Write as _;
use std::io::Write as _;

use clap::Args;
use serde_json::{Map, Value};
use trailwarden::remediation::{run_runbook, Outcome, Target};
use trailwarden::runbooks::{self, params_for_target};

use crate::trail::CliResult;

#[derive(Args)]
pub struct RemediateArgs {
    /// The runbook (see `trailwarden runbooks`).
    #[arg(long)]
    runbook: String,
    /// The resource: bucket name, security group id, trail name, DB instance, account id, ...
    #[arg(long)]
    resource_id: String,
    /// The Config resource type (default: the runbook's first, e.g. AWS::S3::Bucket).
    #[arg(long)]
    resource_type: Option<String>,
    /// Runbook parameters as a JSON object, e.g. '{"SSEAlgorithm":"aws:kms"}'.
    #[arg(long)]
    parameters: Option<String>,
    /// Print the exact calls that would be made; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// The account of the resource (recorded in the execution record).
    #[arg(long)]
    account_id: Option<String>,
}

/// Runs one runbook against the configured endpoint and prints the execution record as JSON.
/// Exit code 0 when the resource complies at the end (remediated, nothing to do) or for a
/// dry-run, 1 when the run failed.
pub async fn remediate(a: RemediateArgs) -> CliResult {
    let rb = runbooks::find(&a.runbook).ok_or_else(|| {
        format!(
            "unknown runbook {:?}; known: {}",
            a.runbook,
            runbooks::names().join(", ")
        )
    })?;
    let info = rb.info();
    let resource_type = match a.resource_type {
        Some(t) => t,
        None => info
            .resource_types
            .first()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    };
    if !info.resource_types.contains(&resource_type.as_str()) {
        return Err(format!(
            "{} handles {}, not {resource_type}",
            info.name,
            info.resource_types.join(", ")
        )
        .into());
    }
    let raw: Map<String, Value> = match &a.parameters {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err("--parameters must be a JSON object".into()),
            Err(e) => return Err(format!("--parameters is not JSON: {e}").into()),
        },
    };
    let cfg = trailwarden::aws::load_remediator_config().await;
    let mut target = Target::new(resource_type, a.resource_id);
    target.account_id = a.account_id;
    target.region = cfg.region().map(|r| r.to_string());
    let params = params_for_target(rb, &raw, &target)?;
    let cloud = trailwarden::aws::cloud(&cfg, trailwarden::aws::endpoint_overridden("S3"));
    let rec = run_runbook(&cloud, rb, &target, &params, a.dry_run).await;
    emit(&serde_json::to_string_pretty(&rec)?)?;
    Ok(if rec.outcome == Outcome::Failed { 1 } else { 0 })
}

#[derive(Args)]
pub struct RunbooksArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Lists the runbooks with their parameters.
pub async fn list(a: RunbooksArgs) -> CliResult {
    if a.json {
        let all: Vec<_> = runbooks::all().iter().map(|r| r.info()).collect();
        emit(&serde_json::to_string_pretty(&all)?)?;
        return Ok(0);
    }
    let mut out = String::new();
    for rb in runbooks::all() {
        let i = rb.info();
        let _ = writeln!(
            out,
            "{}\n  {}\n  resource types: {}",
            i.name,
            i.description,
            i.resource_types.join(", ")
        );
        for p in i.parameters {
            let mut note = String::new();
            if Some(p.name) == i.resource_param {
                note.push_str(", the resource id");
            }
            if p.required {
                note.push_str(", required");
            }
            if let Some(d) = p.default {
                note.push_str(&format!(", default {d}"));
            }
            let _ = writeln!(
                out,
                "  --parameters {} ({:?}{note}): {}",
                p.name, p.kind, p.description
            );
        }
        out.push('\n');
    }
    emit(&out)?;
    Ok(0)
}

/// Writes to standard output; a closed pipe (`| head`) is not an error.
fn emit(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let r = out
        .write_all(text.as_bytes())
        .and_then(|()| {
            if text.ends_with('\n') {
                Ok(())
            } else {
                out.write_all(b"\n")
            }
        })
        .and_then(|()| out.flush());
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

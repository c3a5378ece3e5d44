//! evaluate-rule and rules: AWS Config rules offline.

use std::io::{Read, Write};

use clap::Args;
use trailwarden::config::{evaluate_document, list_rules};

use crate::trail::CliResult;

#[derive(Args)]
pub struct EvaluateRuleArgs {
    /// Rule name or managed-rule identifier (e.g. restricted-ssh, INCOMING_SSH_DISABLED); default:
    /// the rule a Config rule event names (`rule` parameter or configRuleName).
    #[arg(long)]
    rule: Option<String>,
    /// Rule parameters as a JSON object (values as strings, as Config passes them); they override
    /// the event's ruleParameters key by key.
    #[arg(long)]
    parameters: Option<String>,
    /// A configuration item (notification or API encoding), a list of items, a
    /// GetResourceConfigHistory/BatchGetResourceConfig answer, a whole Config rule event, or
    /// account data for account rules; `-` reads standard input.
    file: String,
}

/// Prints one `{"complianceType","annotation","resourceType","resourceId"}` per line.
pub fn evaluate_rule(a: EvaluateRuleArgs) -> CliResult {
    let text = if a.file == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        s
    } else {
        std::fs::read_to_string(&a.file).map_err(|e| format!("cannot read {}: {e}", a.file))?
    };
    let evaluations = evaluate_document(a.rule.as_deref(), a.parameters.as_deref(), &text)
        .map_err(|e| format!("{}: {e}", a.file))?;
    let mut out = std::io::stdout().lock();
    for e in &evaluations {
        writeln!(out, "{}", e.to_cli_json())?;
    }
    Ok(0)
}

#[derive(Args)]
pub struct RulesArgs {
    /// JSON (one array) instead of text.
    #[arg(long)]
    json: bool,
}

/// Lists the rules with their parameters and defaults.
pub fn rules(a: RulesArgs) -> CliResult {
    let rules = list_rules();
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&rules)?)?;
    } else {
        for r in &rules {
            writeln!(out, "{r}")?;
        }
    }
    Ok(0)
}

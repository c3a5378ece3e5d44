//! The SNS report published for every remediation: what was wrong (Config's annotation), what
//! was done (the execution record), the verification, and who caused it (CloudTrail).

use serde::Serialize;
use serde_json::Value;

use super::cause::Cause;
use super::execution::{ExecutionRecord, Outcome, VerificationResult};
use super::state::RemediationException;
use super::types::Target;
use crate::notify::sns_subject;

/// The report's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReportStatus {
    /// Calls made and verified.
    Remediated,
    /// The resource already complies (a second run): nothing changed.
    NothingToDo,
    /// Dry-run: the calls that would be made, none made.
    DryRun,
    /// Not attempted: exempt, or a remediation exception is in place.
    Skipped,
    /// Attempted and failed (or the attempt limit was reached).
    Failed,
    /// The event could not be used (malformed, no runbook for the rule, wrong resource type).
    Rejected,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Remediated => "REMEDIATED",
            Self::NothingToDo => "NOTHING_TO_DO",
            Self::DryRun => "DRY_RUN",
            Self::Skipped => "SKIPPED",
            Self::Failed => "FAILED",
            Self::Rejected => "REJECTED",
        }
    }

    pub fn from_outcome(o: Outcome) -> Self {
        match o {
            Outcome::Remediated => Self::Remediated,
            Outcome::NothingToDo => Self::NothingToDo,
            Outcome::DryRun => Self::DryRun,
            Outcome::Failed => Self::Failed,
        }
    }
}

/// Attempt counting for the resource.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptSummary {
    pub attempts_in_window: u32,
    pub failed_in_window: u32,
    pub max_attempts: u32,
    pub window_seconds: u32,
    /// Where the attempts and any exception are kept (delete it to clear an exception).
    pub state_object: String,
}

/// One report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub report_version: &'static str,
    pub status: ReportStatus,
    /// The SNS subject.
    pub subject: String,
    /// One paragraph for humans.
    pub summary: String,
    /// The event that started it.
    pub trigger: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_rule_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<Target>,
    /// What was wrong (the rule's annotation, or the tampering call).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runbook: Option<String>,
    pub dry_run: bool,
    /// What was done: the calls made (or, in dry-run, that would be made), or why nothing.
    pub what_was_done: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationResult>,
    /// Who caused it: the last change to the resource in the suite's trail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caused_by: Option<Cause>,
    /// How the search for the cause went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause_note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<AttemptSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<RemediationException>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The execution record (every step, SSM Automation style).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution: Option<ExecutionRecord>,
    pub generated_at: String,
}

impl Report {
    /// A report with only the status and trigger set.
    pub fn new(status: ReportStatus, trigger: Value) -> Self {
        Self {
            report_version: "1.0",
            status,
            subject: String::new(),
            summary: String::new(),
            trigger,
            config_rule_name: None,
            resource: None,
            problem: None,
            runbook: None,
            dry_run: false,
            what_was_done: Vec::new(),
            verification: None,
            caused_by: None,
            cause_note: None,
            attempts: None,
            exception: None,
            error: None,
            execution: None,
            generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }

    /// Fills `subject` and `summary` from the other fields.
    pub fn finish(&mut self, alert: Option<&str>) {
        let what = match (&self.config_rule_name, &self.resource) {
            (Some(r), Some(t)) => format!("{r} {} {}", t.resource_type, t.resource_id),
            (None, Some(t)) => format!("{} {}", t.resource_type, t.resource_id),
            (Some(r), None) => r.clone(),
            (None, None) => "event".into(),
        };
        self.subject = sns_subject(&match alert {
            Some(a) => format!("[trailwarden] ALERT {} {a}", self.status.as_str()),
            None => format!("[trailwarden] {} {what}", self.status.as_str()),
        });
        let mut s = String::new();
        if let Some(a) = alert {
            s.push_str(&format!("ALERT: {a}. "));
        }
        s.push_str(&format!("{}: {what}.", self.status.as_str()));
        if let Some(p) = &self.problem {
            s.push_str(&format!(" Problem: {p}."));
        }
        if !self.what_was_done.is_empty() {
            s.push_str(&format!(" Done: {}.", self.what_was_done.join("; ")));
        }
        if let Some(v) = &self.verification {
            s.push_str(&format!(
                " Verification {}: {}.",
                if v.passed { "passed" } else { "FAILED" },
                v.details
            ));
        }
        if let Some(e) = &self.error {
            s.push_str(&format!(" Error: {e}."));
        }
        if let Some(x) = &self.exception {
            s.push_str(&format!(" Remediation exception: {}.", x.reason));
        }
        match (&self.caused_by, &self.cause_note) {
            (Some(c), _) => s.push_str(&format!(" Caused by: {}.", c.sentence())),
            (None, Some(n)) => s.push_str(&format!(" Cause: {n}.")),
            _ => {}
        }
        self.summary = s;
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\":\"report not serialisable: {e}\"}}"))
    }
}

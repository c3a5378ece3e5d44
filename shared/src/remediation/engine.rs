//! The remediator: event in, runbook run with every safety check, one report out.
//!
//! Order of checks for a resource: exemption by id (`EXEMPT_RESOURCE_IDS`), exemption by tag
//! (`trailwarden:exempt=true`), an existing remediation exception, then read + plan. An empty
//! plan ends there (nothing to do, no attempt counted). Dry-run lists the calls. Otherwise an
//! attempt is reserved in the state object (refused, with an exception, when the attempts in
//! the window already reached the limit), the calls run, the resource is read back, and the
//! attempt is recorded as succeeded or failed; the failure that reaches the limit creates the
//! exception. A failure to read the resource is a failed attempt too.
//!
//! As Config's `MaximumAutomaticAttempts`, the limit counts failed attempts (and attempts still
//! running, so concurrent invocations cannot exceed it together), not successful ones: counting
//! successes would let whoever keeps breaking a resource (say, stopping the suite's trail again
//! and again) switch its remediation off.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};

use super::actuator::{ActErrorKind, Cloud};
use super::cause::{find_cause, Cause, CauseQuery, REMEDIATOR_APP_NAME};
use super::event::{parse_event, ComplianceChange, TrailApiCall, Trigger};
use super::execution::{Execution, ExecutionRecord, Outcome};
use super::report::{AttemptSummary, Report, ReportStatus};
use super::settings::RemediationSettings;
use super::state::{Attempt, AttemptStatus, RemediationException, ResourceState, StateStore};
use super::types::{Target, EXEMPT_TAG_KEY};
use crate::notify::{Notifier, NotifyError, MAX_MESSAGE_BYTES};
use crate::runbooks::{params_for_target, Runbook, RunbookParams};
use crate::store::ObjectStore;

/// What became of an event.
#[derive(Debug)]
pub enum Handled {
    /// Nothing to report (a COMPLIANT result, another trail, the remediator's own call).
    Ignored { reason: String },
    /// A report was built and published (or publishing failed).
    Reported {
        report: Box<Report>,
        published: Result<(), NotifyError>,
    },
}

impl Handled {
    pub fn report(&self) -> Option<&Report> {
        match self {
            Self::Reported { report, .. } => Some(report),
            Self::Ignored { .. } => None,
        }
    }
    /// A short JSON summary (the Lambda's return value).
    pub fn summary(&self) -> Value {
        match self {
            Self::Ignored { reason } => json!({"status": "IGNORED", "reason": reason}),
            Self::Reported { report, published } => json!({
                "status": report.status.as_str(),
                "subject": report.subject,
                "executionId": report.execution.as_ref().map(|e| e.automation_execution_id.clone()),
                "published": published.is_ok(),
            }),
        }
    }
}

/// Where "who caused it" comes from.
enum CauseSource {
    /// Search the trail's log files.
    Search,
    /// Already known (the tampering call itself).
    Given(Box<Cause>),
}

struct Job {
    trigger: Value,
    rule: Option<String>,
    target: Target,
    runbook: &'static dyn Runbook,
    params: RunbookParams,
    dry_run: bool,
    problem: String,
    cause: CauseSource,
    alert: Option<String>,
    before: DateTime<Utc>,
}

/// The remediator with its ports.
pub struct Remediator<'a> {
    pub settings: &'a RemediationSettings,
    pub store: &'a dyn ObjectStore,
    pub notifier: &'a dyn Notifier,
    pub cloud: &'a Cloud,
}

fn trigger_summary(event: &Value) -> Value {
    json!({
        "id": event.get("id"),
        "detailType": event.get("detail-type"),
        "source": event.get("source"),
        "time": event.get("time"),
    })
}

impl<'a> Remediator<'a> {
    /// Handles one EventBridge event.
    pub async fn handle(&self, event: &Value, now: DateTime<Utc>) -> Handled {
        let trigger = match parse_event(event) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "event rejected");
                let mut r = Report::new(ReportStatus::Rejected, trigger_summary(event));
                r.error = Some(format!("{e}; nothing was done"));
                return self.publish(r, None).await;
            }
        };
        let trigger_json = serde_json::to_value(&trigger).unwrap_or(Value::Null);
        match trigger {
            Trigger::Compliance(c) => self.compliance(c, trigger_json, now).await,
            Trigger::TrailCall(c) => self.trail_call(c, trigger_json, now).await,
        }
    }

    async fn compliance(&self, c: ComplianceChange, trigger: Value, now: DateTime<Utc>) -> Handled {
        if c.compliance_type != "NON_COMPLIANT" {
            return Handled::Ignored {
                reason: format!(
                    "{} is {} for {} {}: nothing to remediate",
                    c.config_rule_name, c.compliance_type, c.resource_type, c.resource_id
                ),
            };
        }
        let mut target = Target::new(&c.resource_type, &c.resource_id);
        target.account_id = Some(c.account_id.clone());
        target.region = Some(c.region.clone());
        let reject = |msg: String| {
            let mut r = Report::new(ReportStatus::Rejected, trigger.clone());
            r.config_rule_name = Some(c.config_rule_name.clone());
            r.resource = Some(target.clone());
            r.problem = c.annotation.clone();
            r.error = Some(format!("{msg}; nothing was done"));
            r
        };
        let Some(mapping) = self.settings.rules.get(&c.config_rule_name) else {
            let known: Vec<&str> = self.settings.rules.keys().map(String::as_str).collect();
            let r = reject(format!(
                "no runbook is mapped to Config rule {:?} (RULE_RUNBOOKS maps: {})",
                c.config_rule_name,
                if known.is_empty() {
                    "nothing".into()
                } else {
                    known.join(", ")
                }
            ));
            return self.publish(r, None).await;
        };
        let rb = mapping.runbook;
        if !rb.info().resource_types.contains(&c.resource_type.as_str()) {
            let r = reject(format!(
                "runbook {} handles {}, but the rule reported {}",
                rb.info().name,
                rb.info().resource_types.join(", "),
                c.resource_type
            ));
            return self.publish(r, None).await;
        }
        let params = match params_for_target(rb, &mapping.parameters, &target) {
            Ok(p) => p,
            Err(e) => return self.publish(reject(e.to_string()), None).await,
        };
        let job = Job {
            trigger,
            rule: Some(c.config_rule_name.clone()),
            problem: c.annotation.clone().unwrap_or_else(|| {
                format!(
                    "Config rule {} reported the resource NON_COMPLIANT (no annotation)",
                    c.config_rule_name
                )
            }),
            target,
            runbook: rb,
            params,
            dry_run: self.settings.dry_run || mapping.dry_run.unwrap_or(false),
            cause: CauseSource::Search,
            alert: None,
            before: c.time.unwrap_or(now).min(now) + Duration::seconds(1),
        };
        self.run(job, now).await
    }

    async fn trail_call(&self, c: TrailApiCall, trigger: Value, now: DateTime<Utc>) -> Handled {
        let Some(arn) = &self.settings.trail_arn else {
            let mut r = Report::new(ReportStatus::Rejected, trigger);
            r.error = Some(format!(
                "{} on trail {} by {}, but TRAIL_ARN is not set, so the suite's trail is unknown; nothing was done",
                c.event_name,
                c.trail,
                c.caller.principal_arn.as_deref().unwrap_or("an unknown principal")
            ));
            r.caused_by = Some(c.caller.clone());
            return self
                .publish(r, Some(format!("{} on trail {}", c.event_name, c.trail)))
                .await;
        };
        if c.trail != arn.name && c.trail != arn.arn {
            return Handled::Ignored {
                reason: format!(
                    "{} on trail {}, not the suite's trail {}",
                    c.event_name, c.trail, arn.arn
                ),
            };
        }
        if c.caller
            .user_agent
            .as_deref()
            .is_some_and(|u| u.contains(REMEDIATOR_APP_NAME))
        {
            return Handled::Ignored {
                reason: format!(
                    "{} on the suite's trail was the remediator's own call",
                    c.event_name
                ),
            };
        }
        let rb = crate::runbooks::find("TrailWarden-RestoreTrail");
        let Some(rb) = rb else {
            return Handled::Ignored {
                reason: "TrailWarden-RestoreTrail is not registered".into(),
            };
        };
        let mut target = Target::new("AWS::CloudTrail::Trail", &arn.name);
        target.account_id = Some(arn.account_id.clone());
        target.region = Some(arn.home_region.clone());
        let mut raw = Map::new();
        raw.insert("S3BucketName".into(), json!(self.settings.trail.bucket));
        if !self.settings.trail.prefix.is_empty() {
            raw.insert("S3KeyPrefix".into(), json!(self.settings.trail.prefix));
        }
        let who = c
            .caller
            .principal_arn
            .clone()
            .unwrap_or_else(|| "an unknown principal".into());
        // Short form for the subject (SNS allows 100 characters); the full ARN is in the body.
        let short_who = who.rsplit(':').next().unwrap_or(&who).to_string();
        let alert = format!("{} on trail {} by {short_who}", c.event_name, arn.name);
        let params = match params_for_target(rb, &raw, &target) {
            Ok(p) => p,
            Err(e) => {
                let mut r = Report::new(ReportStatus::Rejected, trigger);
                r.resource = Some(target);
                r.error = Some(e.to_string());
                r.caused_by = Some(c.caller.clone());
                return self.publish(r, Some(alert)).await;
            }
        };
        let problem = match &c.caller.error_code {
            Some(code) => format!(
                "{} was called on the suite's trail {} by {who} and failed with {code}: someone tried to cover their tracks",
                c.event_name, arn.name
            ),
            None => format!(
                "{} was called on the suite's trail {} by {who}: someone may be covering their tracks",
                c.event_name, arn.name
            ),
        };
        let job = Job {
            trigger,
            rule: None,
            target,
            runbook: rb,
            params,
            dry_run: self.settings.dry_run,
            problem,
            cause: CauseSource::Given(Box::new(c.caller.clone())),
            alert: Some(alert),
            before: now,
        };
        self.run(job, now).await
    }

    fn window(&self) -> Duration {
        Duration::seconds(i64::from(self.settings.retry_window_seconds))
    }

    async fn run(&self, job: Job, now: DateTime<Utc>) -> Handled {
        let info = job.runbook.info();
        let mut r = Report::new(ReportStatus::Failed, job.trigger.clone());
        r.config_rule_name = job.rule.clone();
        r.resource = Some(job.target.clone());
        r.problem = Some(job.problem.clone());
        r.runbook = Some(info.name.to_string());
        r.dry_run = job.dry_run;
        let t = &job.target;

        // Who caused it (for every report about a resource).
        match &job.cause {
            CauseSource::Given(c) => r.caused_by = Some((**c).clone()),
            CauseSource::Search => {
                let q = CauseQuery {
                    account_id: t.account_id.as_deref().unwrap_or_default(),
                    region: t.region.as_deref().unwrap_or_default(),
                    resource_type: &t.resource_type,
                    resource_id: &t.resource_id,
                    event_names: info.cause_events,
                    before: job.before,
                    lookback_days: self.settings.cause_lookback_days,
                    max_files: self.settings.cause_max_files,
                };
                match find_cause(self.store, &self.settings.trail, &q).await {
                    Ok(found) => {
                        r.cause_note = Some(found.note);
                        r.caused_by = found.cause;
                    }
                    Err(e) => r.cause_note = Some(format!("the trail could not be searched: {e}")),
                }
            }
        }

        // Exemptions.
        if self.settings.is_exempt_id(&t.resource_id, None) {
            r.status = ReportStatus::Skipped;
            r.what_was_done = vec![format!(
                "nothing: {} is listed in EXEMPT_RESOURCE_IDS",
                t.resource_id
            )];
            return self.publish(r, job.alert).await;
        }
        let mut tag_error = None;
        match self.cloud.tags_of(&t.resource_type, &t.resource_id).await {
            Ok(Some(tags)) => {
                if tags
                    .get(EXEMPT_TAG_KEY)
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"))
                {
                    r.status = ReportStatus::Skipped;
                    r.what_was_done = vec![format!(
                        "nothing: the resource is tagged {EXEMPT_TAG_KEY}=true"
                    )];
                    return self.publish(r, job.alert).await;
                }
            }
            Ok(None) => {}
            // A missing resource is reported by the read step below.
            Err(e) if e.kind == ActErrorKind::NotFound => {}
            Err(e) => {
                tag_error = Some(format!(
                    "the exemption tag could not be checked, so nothing was changed: {e}"
                ))
            }
        }

        // State: attempts and exceptions (kept even for dry-run reports, never written by them).
        let states = StateStore::new(self.store, &self.settings.trail);
        let key = match states.key(
            t.account_id.as_deref().unwrap_or_default(),
            t.region.as_deref().unwrap_or_default(),
            info.name,
            &t.resource_id,
        ) {
            Ok(k) => k,
            Err(e) => {
                r.status = ReportStatus::Rejected;
                r.error = Some(e.to_string());
                return self.publish(r, job.alert).await;
            }
        };
        let state_object = format!("s3://{}/{key}", states.bucket());
        let window = self.window();
        let summary = |s: &ResourceState| AttemptSummary {
            attempts_in_window: s.in_window(now, window),
            failed_in_window: s.failed_in_window(now, window),
            max_attempts: self.settings.max_attempts,
            window_seconds: self.settings.retry_window_seconds,
            state_object: state_object.clone(),
        };
        let init = || ResourceState::new(info.name, &t.resource_type, &t.resource_id);
        match states.load(&key).await {
            Ok(Some((s, _))) => {
                r.attempts = Some(summary(&s));
                if let Some(x) = s.exception {
                    r.status = ReportStatus::Skipped;
                    r.what_was_done = vec![format!(
                        "nothing: a remediation exception has been in place since {} ({}); delete {state_object} to clear it",
                        x.created.to_rfc3339(),
                        x.reason
                    )];
                    r.exception = Some(x);
                    return self.publish(r, job.alert).await;
                }
            }
            Ok(None) => r.attempts = Some(summary(&init())),
            Err(e) if job.dry_run => {
                tracing::warn!(error = %e, "remediation state unreadable (dry-run continues)")
            }
            Err(e) => {
                r.status = ReportStatus::Failed;
                r.error = Some(format!(
                    "{e}; nothing was changed (no remediation without attempt tracking)"
                ));
                return self.publish(r, job.alert).await;
            }
        }

        // Read and plan. When there is something to change but the exemption tag could not be
        // read, nothing is changed and it counts as a failed attempt (dry-run just says so).
        let exe = Execution::plan(self.cloud, job.runbook, t, &job.params, job.dry_run).await;
        if let Some(err) = &tag_error {
            if exe.has_steps() {
                r.error = Some(err.clone());
            }
        }
        let abort = match tag_error {
            Some(err) if exe.has_steps() && !job.dry_run => Some(err),
            _ => None,
        };
        let (record, reserved) = match abort {
            Some(err) => (exe.abort(err), None),
            None => {
                if !exe.has_steps() || job.dry_run {
                    (exe.run(self.cloud, t, &job.params).await, None)
                } else {
                    // Reserve an attempt (or hit the limit) before any call.
                    let exec_id = exe.record().automation_execution_id.clone();
                    let max = self.settings.max_attempts;
                    let res = states
                        .update(&key, now, window, init, |s| {
                            if let Some(x) = &s.exception {
                                return (Err(x.clone()), false);
                            }
                            let n = s.counted_in_window(now, window);
                            if n >= max {
                                let x = RemediationException {
                                    created: now,
                                    reason: format!(
                                        "{n} failed or unfinished attempts within {} s reached the limit of {max}",
                                        window.num_seconds()
                                    ),
                                    attempts_in_window: n,
                                    last_error: s.attempts.iter().rev().find_map(|a| a.error.clone()),
                                };
                                s.exception = Some(x.clone());
                                return (Err(x), true);
                            }
                            s.attempts.push(Attempt {
                                time: now,
                                execution_id: exec_id.clone(),
                                status: AttemptStatus::InProgress,
                                error: None,
                            });
                            (Ok(()), true)
                        })
                        .await;
                    match res {
                        Ok((Ok(()), s)) => {
                            r.attempts = Some(summary(&s));
                            (exe.run(self.cloud, t, &job.params).await, Some(exec_id))
                        }
                        Ok((Err(x), s)) => {
                            r.attempts = Some(summary(&s));
                            let rec = exe.abort(format!("not attempted: {}", x.reason));
                            r.exception = Some(x);
                            r.status = ReportStatus::Failed;
                            r.error = Some(format!(
                                "attempt limit reached: a remediation exception is now in place; delete {state_object} to clear it"
                            ));
                            r.what_was_done = vec!["nothing: attempt limit reached".into()];
                            r.execution = Some(rec);
                            return self.publish(r, job.alert).await;
                        }
                        Err(e) => {
                            let rec = exe.abort(format!("not attempted: {e}"));
                            r.status = ReportStatus::Failed;
                            r.error = Some(format!("{e}; nothing was changed (no remediation without attempt tracking)"));
                            r.execution = Some(rec);
                            return self.publish(r, job.alert).await;
                        }
                    }
                }
            }
        };

        // Record the outcome of a real attempt (or a failed read, which is one too).
        let failed = record.outcome == Outcome::Failed;
        if !job.dry_run && (reserved.is_some() || failed) {
            let exec_id = reserved.unwrap_or_else(|| record.automation_execution_id.clone());
            let err = record.failure_message.clone();
            let max = self.settings.max_attempts;
            let res = states
                .update(&key, now, window, init, |s| {
                    match s.attempts.iter_mut().find(|a| a.execution_id == exec_id) {
                        Some(a) => {
                            a.status = if failed {
                                AttemptStatus::Failed
                            } else {
                                AttemptStatus::Succeeded
                            };
                            a.error = err.clone();
                        }
                        None => s.attempts.push(Attempt {
                            time: now,
                            execution_id: exec_id.clone(),
                            status: if failed {
                                AttemptStatus::Failed
                            } else {
                                AttemptStatus::Succeeded
                            },
                            error: err.clone(),
                        }),
                    }
                    let mut created = None;
                    if failed && s.exception.is_none() {
                        let n = s.failed_in_window(now, window);
                        if n >= max {
                            let x = RemediationException {
                                created: now,
                                reason: format!(
                                    "{n} failed attempts within {} s reached the limit of {max}",
                                    window.num_seconds()
                                ),
                                attempts_in_window: n,
                                last_error: err.clone(),
                            };
                            s.exception = Some(x.clone());
                            created = Some(x);
                        }
                    }
                    (created, true)
                })
                .await;
            match res {
                Ok((created, s)) => {
                    r.attempts = Some(summary(&s));
                    if let Some(x) = created {
                        r.exception = Some(x);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "the attempt could not be recorded");
                    r.error = Some(format!("the attempt could not be recorded: {e}"));
                }
            }
        }
        self.fill_from_record(&mut r, record);
        self.publish(r, job.alert).await
    }

    fn fill_from_record(&self, r: &mut Report, rec: ExecutionRecord) {
        r.status = ReportStatus::from_outcome(rec.outcome);
        let current = rec.current_state.clone().unwrap_or_default();
        r.what_was_done = match rec.outcome {
            Outcome::Remediated => rec.changes.iter().map(|c| format!("called {c}")).collect(),
            Outcome::DryRun => rec
                .changes
                .iter()
                .map(|c| format!("would call {c}"))
                .collect(),
            Outcome::NothingToDo => vec![format!("nothing to change: {current}")],
            Outcome::Failed => {
                let done: Vec<String> = rec
                    .step_executions
                    .iter()
                    .filter(|s| {
                        s.step_status == super::execution::StepStatus::Success
                            && s.action == "aws:executeAwsApi"
                            && s.step_name != "ReadCurrentState"
                    })
                    .map(|s| format!("called {} {}", s.api, s.inputs))
                    .collect();
                if done.is_empty() {
                    vec!["nothing was changed".into()]
                } else {
                    done
                }
            }
        };
        r.verification = rec.verification.clone();
        if rec.outcome == Outcome::Failed {
            let msg = rec
                .failure_message
                .clone()
                .unwrap_or_else(|| "failed".into());
            r.error = Some(match r.error.take() {
                Some(e) if msg.contains(&e) || e.contains(&msg) => e,
                Some(e) => format!("{e}; {msg}"),
                None => msg,
            });
            if let Some(x) = &r.exception {
                r.error = Some(format!(
                    "{}; a remediation exception is now in place ({}), no further attempts until it is cleared",
                    r.error.take().unwrap_or_default(),
                    x.reason
                ));
            }
        }
        r.execution = Some(rec);
    }

    async fn publish(&self, mut r: Report, alert: Option<String>) -> Handled {
        r.finish(alert.as_deref());
        let mut body = r.to_json();
        if body.len() > MAX_MESSAGE_BYTES {
            // Keep the report under SNS's limit: drop the step inputs (the changes list stays).
            if let Some(e) = r.execution.as_mut() {
                for s in &mut e.step_executions {
                    s.inputs = json!("(omitted: message size limit)");
                }
            }
            body = r.to_json();
            if body.len() > MAX_MESSAGE_BYTES {
                r.execution = None;
                body = r.to_json();
            }
        }
        tracing::info!(status = r.status.as_str(), subject = %r.subject, "remediation report");
        let published = self.notifier.publish(&r.subject, &body).await;
        if let Err(e) = &published {
            tracing::error!(error = %e, "the remediation report could not be published");
        }
        Handled::Reported {
            report: Box::new(r),
            published,
        }
    }
}

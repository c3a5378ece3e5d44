//! Running one runbook against one resource: read the current state, plan, execute the steps,
//! verify by reading back. The result is an execution record shaped like SSM Automation's
//! `GetAutomationExecution` output: every step with its status, inputs, outputs and error.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::action::Action;
use super::actuator::{ActError, Cloud};
use super::types::Target;
use crate::runbooks::{Plan, Runbook, RunbookError, RunbookParams};

/// Step status, as SSM reports it (`Pending` = not run: dry-run, or after an earlier failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StepStatus {
    Pending,
    Success,
    Failed,
}

/// Overall status, as SSM reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ExecutionStatus {
    Success,
    Failed,
}

/// What the run amounted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// Steps ran and the read-back verification passed.
    Remediated,
    /// The resource already complies: no call was made.
    NothingToDo,
    /// Dry-run: the calls were planned, none was made.
    DryRun,
    /// Reading, a step or the verification failed.
    Failed,
}

/// How a failure happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FailureDetails {
    /// `Invocation` (an AWS call failed), `Verification`, or `Refused` (the runbook will not
    /// act on this resource, e.g. it would widen access or it is the wrong kind of resource).
    pub failure_stage: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<super::actuator::ActErrorKind>,
}

/// One step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepExecution {
    pub step_name: String,
    /// `aws:executeAwsApi` or `aws:assertAwsResourceProperty`.
    pub action: &'static str,
    /// `service:Operation` called (for reads, the first call of the read).
    pub api: String,
    pub inputs: Value,
    pub step_status: StepStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_end_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_details: Option<FailureDetails>,
}

/// The read-back result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerificationResult {
    pub passed: bool,
    pub details: String,
}

/// One runbook execution.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecutionRecord {
    pub automation_execution_id: String,
    pub document_name: String,
    /// `Auto` or `DryRun`.
    pub mode: &'static str,
    pub target: Target,
    pub parameters: Value,
    pub automation_execution_status: ExecutionStatus,
    pub outcome: Outcome,
    pub execution_start_time: String,
    pub execution_end_time: String,
    pub step_executions: Vec<StepExecution>,
    /// What the resource looked like before (from the read step).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_state: Option<String>,
    /// The exact calls planned (dry-run) or made, one line each.
    pub changes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}

impl ExecutionRecord {
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
    /// The first failed step's error, if an AWS call failed.
    pub fn failed_error(&self) -> Option<&FailureDetails> {
        self.step_executions
            .iter()
            .find(|s| s.step_status == StepStatus::Failed)
            .and_then(|s| s.failure_details.as_ref())
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A UUID-shaped execution id, unique per process and time.
pub fn new_execution_id(runbook: &str, target: &Target, now: DateTime<Utc>) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut h = Sha256::new();
    h.update(runbook.as_bytes());
    h.update([0]);
    h.update(target.resource_type.as_bytes());
    h.update([0]);
    h.update(target.resource_id.as_bytes());
    h.update(now.timestamp_nanos_opt().unwrap_or(0).to_be_bytes());
    h.update(n.to_be_bytes());
    h.update(std::process::id().to_be_bytes());
    let x = hex::encode(h.finalize());
    format!(
        "{}-{}-{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

fn failed_step(
    name: &str,
    action: &'static str,
    api: &str,
    inputs: Value,
    start: DateTime<Utc>,
    e: &RunbookError,
) -> StepExecution {
    let details = match e {
        RunbookError::Act(a) => FailureDetails {
            failure_stage: "Invocation",
            error_code: Some(a.code.clone()),
            error_kind: Some(a.kind),
        },
        RunbookError::Refused(_) => FailureDetails {
            failure_stage: "Refused",
            error_code: None,
            error_kind: None,
        },
    };
    StepExecution {
        step_name: name.into(),
        action,
        api: api.into(),
        inputs,
        step_status: StepStatus::Failed,
        execution_start_time: Some(ts(start)),
        execution_end_time: Some(ts(Utc::now())),
        outputs: None,
        failure_message: Some(e.to_string()),
        failure_details: Some(details),
    }
}

fn pending(name: &str, action: &'static str, api: &str, inputs: Value) -> StepExecution {
    StepExecution {
        step_name: name.into(),
        action,
        api: api.into(),
        inputs,
        step_status: StepStatus::Pending,
        execution_start_time: None,
        execution_end_time: None,
        outputs: None,
        failure_message: None,
        failure_details: None,
    }
}

/// A run in progress: planned, not yet executed.
pub struct Execution<'r> {
    rec: ExecutionRecord,
    plan: Option<Plan>,
    runbook: &'r dyn Runbook,
    dry_run: bool,
}

impl<'r> Execution<'r> {
    /// Reads the resource and plans (the `ReadCurrentState` step).
    pub async fn plan(
        cloud: &Cloud,
        runbook: &'r dyn Runbook,
        target: &Target,
        params: &RunbookParams,
        dry_run: bool,
    ) -> Execution<'r> {
        let start = Utc::now();
        let info = runbook.info();
        let mut rec = ExecutionRecord {
            automation_execution_id: new_execution_id(info.name, target, start),
            document_name: info.name.to_string(),
            mode: if dry_run { "DryRun" } else { "Auto" },
            target: target.clone(),
            parameters: params.to_json(),
            automation_execution_status: ExecutionStatus::Success,
            outcome: Outcome::NothingToDo,
            execution_start_time: ts(start),
            execution_end_time: String::new(),
            step_executions: Vec::new(),
            current_state: None,
            changes: Vec::new(),
            verification: None,
            failure_message: None,
        };
        let read_inputs =
            json!({"ResourceType": target.resource_type, "ResourceId": target.resource_id});
        match runbook.plan(cloud, target, params).await {
            Err(e) => {
                let api = match &e {
                    RunbookError::Act(a) => a.api.clone(),
                    RunbookError::Refused(_) => info.read_api.to_string(),
                };
                rec.step_executions.push(failed_step(
                    "ReadCurrentState",
                    "aws:executeAwsApi",
                    &api,
                    read_inputs,
                    start,
                    &e,
                ));
                rec.automation_execution_status = ExecutionStatus::Failed;
                rec.outcome = Outcome::Failed;
                rec.failure_message = Some(e.to_string());
                rec.execution_end_time = ts(Utc::now());
                Execution {
                    rec,
                    plan: None,
                    runbook,
                    dry_run,
                }
            }
            Ok(plan) => {
                rec.step_executions.push(StepExecution {
                    step_name: "ReadCurrentState".into(),
                    action: "aws:executeAwsApi",
                    api: info.read_api.into(),
                    inputs: read_inputs,
                    step_status: StepStatus::Success,
                    execution_start_time: Some(ts(start)),
                    execution_end_time: Some(ts(Utc::now())),
                    outputs: Some(
                        json!({"CurrentState": plan.current, "PlannedCalls": plan.steps.len()}),
                    ),
                    failure_message: None,
                    failure_details: None,
                });
                rec.current_state = Some(plan.current.clone());
                rec.changes = plan.steps.iter().map(Action::render).collect();
                if plan.steps.is_empty() {
                    rec.outcome = Outcome::NothingToDo;
                    rec.execution_end_time = ts(Utc::now());
                    return Execution {
                        rec,
                        plan: None,
                        runbook,
                        dry_run,
                    };
                }
                Execution {
                    rec,
                    plan: Some(plan),
                    runbook,
                    dry_run,
                }
            }
        }
    }

    /// The record so far.
    pub fn record(&self) -> &ExecutionRecord {
        &self.rec
    }

    /// Whether there is something left to execute (a plan with steps).
    pub fn has_steps(&self) -> bool {
        self.plan.is_some()
    }

    /// Stops before any call (e.g. the attempt limit): the planned steps stay `Pending`.
    pub fn abort(mut self, reason: impl Into<String>) -> ExecutionRecord {
        let reason = reason.into();
        if let Some(plan) = self.plan.take() {
            for a in &plan.steps {
                self.rec.step_executions.push(pending(
                    a.operation(),
                    "aws:executeAwsApi",
                    a.api(),
                    a.inputs(),
                ));
            }
        }
        self.rec.automation_execution_status = ExecutionStatus::Failed;
        self.rec.outcome = Outcome::Failed;
        self.rec.failure_message = Some(reason);
        self.rec.execution_end_time = ts(Utc::now());
        self.rec
    }

    /// Runs the planned steps (or, in dry-run, lists them as `Pending`), then verifies.
    pub async fn run(
        self,
        cloud: &Cloud,
        target: &Target,
        params: &RunbookParams,
    ) -> ExecutionRecord {
        let Execution {
            mut rec,
            plan,
            runbook,
            dry_run,
        } = self;
        let Some(plan) = plan else {
            return rec;
        };
        let info = runbook.info();
        let verify_inputs =
            json!({"ResourceType": target.resource_type, "ResourceId": target.resource_id});
        if dry_run {
            for a in &plan.steps {
                rec.step_executions.push(pending(
                    a.operation(),
                    "aws:executeAwsApi",
                    a.api(),
                    a.inputs(),
                ));
            }
            rec.step_executions.push(pending(
                "Verify",
                "aws:assertAwsResourceProperty",
                info.read_api,
                verify_inputs,
            ));
            rec.outcome = Outcome::DryRun;
            rec.execution_end_time = ts(Utc::now());
            return rec;
        }

        // The calls, in order; the first failure stops the run (later steps stay Pending).
        let mut failed = false;
        for a in &plan.steps {
            if failed {
                rec.step_executions.push(pending(
                    a.operation(),
                    "aws:executeAwsApi",
                    a.api(),
                    a.inputs(),
                ));
                continue;
            }
            let t0 = Utc::now();
            match a.execute(cloud).await {
                Ok(note) => rec.step_executions.push(StepExecution {
                    step_name: a.operation().into(),
                    action: "aws:executeAwsApi",
                    api: a.api().into(),
                    inputs: a.inputs(),
                    step_status: StepStatus::Success,
                    execution_start_time: Some(ts(t0)),
                    execution_end_time: Some(ts(Utc::now())),
                    outputs: note.map(|n| json!({"Note": n})),
                    failure_message: None,
                    failure_details: None,
                }),
                Err(e) => {
                    let e = RunbookError::Act(e);
                    rec.failure_message = Some(e.to_string());
                    rec.step_executions.push(failed_step(
                        a.operation(),
                        "aws:executeAwsApi",
                        a.api(),
                        a.inputs(),
                        t0,
                        &e,
                    ));
                    failed = true;
                }
            }
        }
        if failed {
            rec.step_executions.push(pending(
                "Verify",
                "aws:assertAwsResourceProperty",
                info.read_api,
                verify_inputs,
            ));
            rec.automation_execution_status = ExecutionStatus::Failed;
            rec.outcome = Outcome::Failed;
            rec.execution_end_time = ts(Utc::now());
            return rec;
        }

        // Read back.
        let t0 = Utc::now();
        let v: Result<VerificationResult, ActError> = runbook.verify(cloud, target, params).await;
        match v {
            Ok(v) => {
                let passed = v.passed;
                rec.step_executions.push(StepExecution {
                    step_name: "Verify".into(),
                    action: "aws:assertAwsResourceProperty",
                    api: info.read_api.into(),
                    inputs: verify_inputs,
                    step_status: if passed {
                        StepStatus::Success
                    } else {
                        StepStatus::Failed
                    },
                    execution_start_time: Some(ts(t0)),
                    execution_end_time: Some(ts(Utc::now())),
                    outputs: Some(json!({"Passed": passed, "Details": v.details})),
                    failure_message: (!passed)
                        .then(|| format!("verification failed: {}", v.details)),
                    failure_details: (!passed).then_some(FailureDetails {
                        failure_stage: "Verification",
                        error_code: None,
                        error_kind: None,
                    }),
                });
                if passed {
                    rec.outcome = Outcome::Remediated;
                } else {
                    rec.automation_execution_status = ExecutionStatus::Failed;
                    rec.outcome = Outcome::Failed;
                    rec.failure_message = Some(format!("verification failed: {}", v.details));
                }
                rec.verification = Some(v);
            }
            Err(e) => {
                let e = RunbookError::Act(e);
                rec.step_executions.push(failed_step(
                    "Verify",
                    "aws:assertAwsResourceProperty",
                    info.read_api,
                    verify_inputs,
                    t0,
                    &e,
                ));
                rec.verification = Some(VerificationResult {
                    passed: false,
                    details: format!("could not read the resource back: {e}"),
                });
                rec.automation_execution_status = ExecutionStatus::Failed;
                rec.outcome = Outcome::Failed;
                rec.failure_message = Some(format!("verification could not run: {e}"));
            }
        }
        rec.execution_end_time = ts(Utc::now());
        rec
    }
}

/// Runs a runbook: read + plan, then (unless `dry_run` or there is nothing to do) every step in
/// order, stopping at the first failure, then the read-back verification.
pub async fn run_runbook(
    cloud: &Cloud,
    runbook: &dyn Runbook,
    target: &Target,
    params: &RunbookParams,
    dry_run: bool,
) -> ExecutionRecord {
    Execution::plan(cloud, runbook, target, params, dry_run)
        .await
        .run(cloud, target, params)
        .await
}

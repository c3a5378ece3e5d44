//! Remediation, SSM Automation style: Config compliance changes and tampering with the suite's
//! own trail in, runbooks run against the resource, one SNS report out.
//!
//! * [`parse_event`]: the two EventBridge triggers (`Config Rules Compliance Change` with
//!   `NON_COMPLIANT`; `AWS API Call via CloudTrail` for StopLogging, DeleteTrail, UpdateTrail
//!   and PutEventSelectors on the suite's trail).
//! * [`Remediator`]: the engine (exemptions, dry-run, attempt limits and exceptions kept in the
//!   trail bucket with conditional writes, the report with "who caused it").
//! * [`run_runbook`] / [`Execution`]: read + plan, the calls, the read-back; an
//!   [`ExecutionRecord`] with every step.
//! * The resource-actuator port: [`S3Actuator`], [`Ec2Actuator`], [`CloudTrailActuator`],
//!   [`RdsActuator`] in domain types; [`FakeCloud`] implements them in memory.
//! * [`find_cause`]: the last change to a resource in the trail's log files.
//! * The runbooks themselves are in [`crate::runbooks`].

mod action;
mod actuator;
mod cause;
mod engine;
mod event;
mod execution;
mod memory;
mod report;
mod settings;
mod state;
mod types;

pub use action::Action;
pub use actuator::{
    ActError, ActErrorKind, ActResult, Cloud, CloudTrailActuator, Ec2Actuator, RdsActuator,
    S3Actuator,
};
pub use cause::{find_cause, record_matches, Cause, CauseLookup, CauseQuery, REMEDIATOR_APP_NAME};
pub use engine::{Handled, Remediator};
pub use event::{parse_event, ComplianceChange, EventError, TrailApiCall, Trigger, TAMPER_EVENTS};
pub use execution::{
    new_execution_id, run_runbook, Execution, ExecutionRecord, ExecutionStatus, FailureDetails,
    Outcome, StepExecution, StepStatus, VerificationResult,
};
pub use memory::{FakeBucket, FakeCloud, FakeTrail};
pub use report::{AttemptSummary, Report, ReportStatus};
pub use settings::{parse_rule_runbooks, RemediationSettings, RuleMapping, SettingsError};
pub use state::{
    Attempt, AttemptStatus, RemediationException, ResourceState, StateError, StateStore,
};
pub use types::{
    partition_of, BucketEncryption, DataResource, DbInstance, EventSelector, PublicAccessBlock,
    ReadWriteType, RulePeer, SecurityGroup, SgRule, Tags, Target, Trail, TrailSelectors, TrailSpec,
    TrailUpdate, Versioning, EXEMPT_TAG_KEY,
};

#[cfg(test)]
mod tests;

//! AWS Config custom-rule events and configuration items, and the evaluator that runs the rules
//! of [`crate::rules`] on them.
//!
//! * [`ConfigRuleEvent`] / [`InvokingEvent`]: the Lambda event, all four message types.
//! * [`ConfigurationItem`]: one normalised item from either encoding (notification or API).
//! * [`Params`]: typed rule parameters, validated once per invocation.
//! * [`Evaluation`]: what `PutEvaluations` takes (annotations truncated as RDK does).
//! * [`ConfigClient`]: the port to AWS (Config, CloudTrail, IAM lookups);
//!   [`InMemoryConfigClient`] is the fake for tests.
//! * [`evaluate_event`]: the Lambda's orchestrator; [`evaluate_document`]: the CLI's offline
//!   evaluation; [`crate::rules::list_rules`]: the rule listing.

mod account;
pub mod cidr;
mod document;
mod error;
mod evaluation;
mod evaluator;
mod event;
mod item;
mod memory;
mod params;
pub mod policy;
mod port;
pub(crate) mod scan;
pub(crate) mod value;

pub use account::{
    AccountData, AccountDataKind, IamUserSummary, ManagementEvents, PasswordPolicy, RootAccount,
    TrailDescription,
};
pub use document::{evaluate_document, render_evaluations};
pub use error::{ConfigError, ParamError, PortError};
pub use evaluation::{
    normalize_annotation, ComplianceType, Evaluation, Outcome, ResourceOutcome,
    MAX_ANNOTATION_CHARS,
};
pub use evaluator::{
    evaluate_event, evaluate_event_with, evaluate_rule_event, EvaluatorOptions, Report,
};
pub use event::{parse_rule_parameters, ConfigRuleEvent, InvokingEvent, MessageType};
pub use item::{Configuration, ConfigurationItem, ItemStatus, ItemSummary, Relationship};
pub use memory::{InMemoryConfigClient, PutCall};
pub use params::{ParamKind, ParamSpec, ParamValue, Params};
pub use port::{
    op, BatchGetResult, ConfigClient, PreviousEvaluation, ResourceKey, MAX_BATCH_GET_KEYS,
    MAX_EVALUATIONS_PER_PUT, TEST_MODE_TOKEN,
};

pub use crate::rules::{list_rules, ParamInfo, RuleInfo};

//! The port the evaluator talks to AWS through. The AWS SDK adapter implements it elsewhere;
//! [`InMemoryConfigClient`](super::InMemoryConfigClient) implements it for tests.
//!
//! Contract for implementations:
//! * map throttling errors (`ThrottlingException`, `TooManyRequestsException`,
//!   `Throttling`, `RequestLimitExceeded`) to [`PortError::Throttled`]: the evaluator retries
//!   those with exponential backoff; do not retry them inside the adapter as well;
//! * paginate inside `list_discovered_resources`, `get_compliance_details_by_config_rule`,
//!   `describe_trails` and `list_iam_users`;
//! * `batch_get_resource_config` is called with at most [`MAX_BATCH_GET_KEYS`] keys and
//!   `put_evaluations` with at most [`MAX_EVALUATIONS_PER_PUT`] evaluations (the evaluator
//!   chunks); each is one API call;
//! * items are returned normalised: build them with
//!   [`ConfigurationItem::from_value`](super::ConfigurationItem::from_value) from the API's JSON
//!   shape (API encoding, `configuration` as a JSON string).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::account::{IamUserSummary, PasswordPolicy, RootAccount, TrailDescription};
use super::error::PortError;
use super::evaluation::{ComplianceType, Evaluation};
use super::item::ConfigurationItem;

/// `BatchGetResourceConfig` accepts at most 100 keys per call.
pub const MAX_BATCH_GET_KEYS: usize = 100;
/// `PutEvaluations` accepts at most 100 evaluations per call.
pub const MAX_EVALUATIONS_PER_PUT: usize = 100;
/// The result token Config uses for test invocations (`PutEvaluations` with `TestMode=true`).
pub const TEST_MODE_TOKEN: &str = "TESTMODE";

/// Operation names, as used in errors and by the in-memory fake.
pub mod op {
    /// Config `GetResourceConfigHistory`.
    pub const GET_RESOURCE_CONFIG_HISTORY: &str = "GetResourceConfigHistory";
    /// Config `ListDiscoveredResources`.
    pub const LIST_DISCOVERED_RESOURCES: &str = "ListDiscoveredResources";
    /// Config `BatchGetResourceConfig`.
    pub const BATCH_GET_RESOURCE_CONFIG: &str = "BatchGetResourceConfig";
    /// Config `PutEvaluations`.
    pub const PUT_EVALUATIONS: &str = "PutEvaluations";
    /// Config `GetComplianceDetailsByConfigRule`.
    pub const GET_COMPLIANCE_DETAILS_BY_CONFIG_RULE: &str = "GetComplianceDetailsByConfigRule";
    /// CloudTrail `DescribeTrails` (+ `GetTrailStatus`, `GetEventSelectors`).
    pub const DESCRIBE_TRAILS: &str = "DescribeTrails";
    /// IAM `GetAccountPasswordPolicy`.
    pub const GET_ACCOUNT_PASSWORD_POLICY: &str = "GetAccountPasswordPolicy";
    /// IAM `GetAccountSummary`.
    pub const GET_ACCOUNT_SUMMARY: &str = "GetAccountSummary";
    /// IAM `ListUsers` (+ `ListMFADevices`).
    pub const LIST_USERS: &str = "ListUsers";
}

/// A resource's identity in Config.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceKey {
    /// e.g. `AWS::EC2::SecurityGroup`.
    pub resource_type: String,
    /// e.g. `sg-1d56fc66`.
    pub resource_id: String,
}

impl ResourceKey {
    /// A key.
    pub fn new(resource_type: impl Into<String>, resource_id: impl Into<String>) -> Self {
        Self {
            resource_type: resource_type.into(),
            resource_id: resource_id.into(),
        }
    }
}

/// The answer of one `BatchGetResourceConfig` call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchGetResult {
    /// `baseConfigurationItems`, normalised. Deleted resources are simply absent.
    pub items: Vec<ConfigurationItem>,
    /// `unprocessedResourceKeys`: the evaluator asks for them again (bounded attempts).
    pub unprocessed: Vec<ResourceKey>,
}

/// An evaluation result Config holds for the rule (`GetComplianceDetailsByConfigRule`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousEvaluation {
    /// The evaluated resource.
    pub key: ResourceKey,
    /// Its recorded compliance; `None` for `INSUFFICIENT_DATA` or unknown values.
    pub compliance_type: Option<ComplianceType>,
}

/// What the evaluator needs from AWS.
#[async_trait]
pub trait ConfigClient: Send + Sync {
    /// The newest configuration item of a resource captured at or before `later_time`
    /// (`GetResourceConfigHistory` with `laterTime`, `limit=1`). An empty history is
    /// [`PortError::NotFound`].
    async fn get_resource_config_history(
        &self,
        resource_type: &str,
        resource_id: &str,
        later_time: Option<DateTime<Utc>>,
    ) -> Result<ConfigurationItem, PortError>;

    /// The ids of all recorded, not deleted resources of a type (`ListDiscoveredResources`,
    /// all pages).
    async fn list_discovered_resources(
        &self,
        resource_type: &str,
    ) -> Result<Vec<String>, PortError>;

    /// The current items of up to [`MAX_BATCH_GET_KEYS`] resources (`BatchGetResourceConfig`).
    async fn batch_get_resource_config(
        &self,
        keys: &[ResourceKey],
    ) -> Result<BatchGetResult, PortError>;

    /// Sends up to [`MAX_EVALUATIONS_PER_PUT`] evaluations (`PutEvaluations`), with
    /// `TestMode` when `test_mode`. Returns the `FailedEvaluations`.
    async fn put_evaluations(
        &self,
        evaluations: &[Evaluation],
        result_token: &str,
        test_mode: bool,
    ) -> Result<Vec<Evaluation>, PortError>;

    /// The evaluation results Config holds for a rule (`GetComplianceDetailsByConfigRule`, all
    /// pages, all compliance types), used to mark resources that a periodic run no longer sees
    /// as `NOT_APPLICABLE`.
    async fn get_compliance_details_by_config_rule(
        &self,
        config_rule_name: &str,
    ) -> Result<Vec<PreviousEvaluation>, PortError>;

    /// All trails with their status and management-event selection (CloudTrail
    /// `DescribeTrails` + `GetTrailStatus` + `GetEventSelectors`).
    async fn describe_trails(&self) -> Result<Vec<TrailDescription>, PortError>;

    /// The account password policy; `Ok(None)` when none is set (IAM `NoSuchEntity`).
    async fn get_account_password_policy(&self) -> Result<Option<PasswordPolicy>, PortError>;

    /// The root user's MFA and access-key state (IAM `GetAccountSummary`).
    async fn get_root_account(&self) -> Result<RootAccount, PortError>;

    /// All IAM users with their MFA state (IAM `ListUsers` + `ListMFADevices`, or the
    /// credential report).
    async fn list_iam_users(&self) -> Result<Vec<IamUserSummary>, PortError>;
}

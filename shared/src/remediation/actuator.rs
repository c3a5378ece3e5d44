//! The resource-actuator port: one small trait per service, in domain types. The AWS SDK
//! implementations live in `crate::aws` behind cargo features; [`super::FakeCloud`] implements
//! every trait in memory for tests.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use thiserror::Error;

use super::types::{
    BucketEncryption, DbInstance, EventSelector, PublicAccessBlock, SecurityGroup, Tags, Trail,
    TrailSelectors, TrailSpec, TrailUpdate, Versioning,
};

/// What kind of failure an AWS call had (decides what the engine does with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActErrorKind {
    /// The resource does not exist (NoSuchBucket, InvalidGroup.NotFound, TrailNotFoundException).
    NotFound,
    /// A security group rule to revoke does not exist (InvalidPermission.NotFound,
    /// InvalidSecurityGroupRuleId.NotFound): already gone.
    RuleNotFound,
    /// The caller lacks permission (AccessDenied, UnauthorizedOperation, ...).
    AccessDenied,
    /// Throttled or the service is unavailable: worth another attempt later.
    Throttled,
    /// The request was rejected as invalid.
    Invalid,
    /// Anything else (including connection failures).
    Other,
}

/// A failed AWS call.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[serde(rename_all = "camelCase")]
#[error("{api} failed: {code}: {message}{}", hint(*.kind))]
pub struct ActError {
    /// `service:Operation`, e.g. `s3:PutBucketVersioning`.
    pub api: String,
    pub kind: ActErrorKind,
    /// The AWS error code (`AccessDenied`, `NoSuchBucket`, ...).
    pub code: String,
    pub message: String,
}

fn hint(kind: ActErrorKind) -> &'static str {
    match kind {
        ActErrorKind::AccessDenied => {
            " (grant this action to the remediator's role, or exempt the resource)"
        }
        ActErrorKind::NotFound => " (the resource no longer exists or the id is wrong)",
        ActErrorKind::Throttled => " (throttled: a later attempt may succeed)",
        _ => "",
    }
}

impl ActError {
    pub fn new(
        api: impl Into<String>,
        kind: ActErrorKind,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            api: api.into(),
            kind,
            code: code.into(),
            message: message.into(),
        }
    }
    pub fn not_found(api: &str, what: impl fmt::Display) -> Self {
        Self::new(
            api,
            ActErrorKind::NotFound,
            "NotFound",
            format!("{what} does not exist"),
        )
    }
    pub fn is_not_found(&self) -> bool {
        self.kind == ActErrorKind::NotFound
    }
}

/// Result of an actuator call.
pub type ActResult<T> = Result<T, ActError>;

/// Amazon S3 bucket configuration.
#[async_trait]
pub trait S3Actuator: Send + Sync {
    /// `None` when the bucket has no public access block.
    async fn get_public_access_block(&self, bucket: &str) -> ActResult<Option<PublicAccessBlock>>;
    async fn put_public_access_block(&self, bucket: &str, pab: &PublicAccessBlock)
        -> ActResult<()>;
    /// `None` when the bucket has no default encryption.
    async fn get_bucket_encryption(&self, bucket: &str) -> ActResult<Option<BucketEncryption>>;
    async fn put_bucket_encryption(&self, bucket: &str, enc: &BucketEncryption) -> ActResult<()>;
    async fn get_bucket_versioning(&self, bucket: &str) -> ActResult<Versioning>;
    async fn put_bucket_versioning(&self, bucket: &str, status: Versioning) -> ActResult<()>;
    /// The policy text; `None` when the bucket has no policy.
    async fn get_bucket_policy(&self, bucket: &str) -> ActResult<Option<String>>;
    async fn put_bucket_policy(&self, bucket: &str, policy: &str) -> ActResult<()>;
    /// Empty when the bucket has no tags.
    async fn get_bucket_tagging(&self, bucket: &str) -> ActResult<Tags>;
    /// Replaces the bucket's tag set.
    async fn put_bucket_tagging(&self, bucket: &str, tags: &Tags) -> ActResult<()>;
}

/// Amazon EC2 (security groups, EBS defaults, tags).
#[async_trait]
pub trait Ec2Actuator: Send + Sync {
    /// The group with its rules; `NotFound` when it does not exist.
    async fn describe_security_group(&self, group_id: &str) -> ActResult<SecurityGroup>;
    /// Revokes ingress rules by id (`RuleNotFound` when one of them does not exist).
    async fn revoke_ingress(&self, group_id: &str, rule_ids: &[String]) -> ActResult<()>;
    /// Revokes egress rules by id (`RuleNotFound` when one of them does not exist).
    async fn revoke_egress(&self, group_id: &str, rule_ids: &[String]) -> ActResult<()>;
    async fn get_ebs_encryption_by_default(&self) -> ActResult<bool>;
    async fn enable_ebs_encryption_by_default(&self) -> ActResult<()>;
    /// Tags of any EC2 resource (`DescribeTags`).
    async fn get_tags(&self, resource_id: &str) -> ActResult<Tags>;
    /// Adds or overwrites the given tags (`CreateTags`).
    async fn create_tags(&self, resource_id: &str, tags: &Tags) -> ActResult<()>;
}

/// AWS CloudTrail trails.
#[async_trait]
pub trait CloudTrailActuator: Send + Sync {
    /// The trail by name or ARN; `None` when it does not exist.
    async fn get_trail(&self, name: &str) -> ActResult<Option<Trail>>;
    async fn is_logging(&self, name: &str) -> ActResult<bool>;
    async fn get_event_selectors(&self, name: &str) -> ActResult<TrailSelectors>;
    async fn create_trail(&self, spec: &TrailSpec) -> ActResult<()>;
    async fn update_trail(&self, update: &TrailUpdate) -> ActResult<()>;
    async fn start_logging(&self, name: &str) -> ActResult<()>;
    async fn put_event_selectors(&self, name: &str, selectors: &[EventSelector]) -> ActResult<()>;
    async fn list_tags(&self, trail_arn: &str) -> ActResult<Tags>;
}

/// Amazon RDS tags.
#[async_trait]
pub trait RdsActuator: Send + Sync {
    /// Finds a DB instance by identifier or by `DbiResourceId` (`db-...`, what Config reports).
    async fn find_db_instance(&self, id: &str) -> ActResult<Option<DbInstance>>;
    async fn add_tags_to_resource(&self, arn: &str, tags: &Tags) -> ActResult<()>;
}

/// The actuators a run uses.
#[derive(Clone)]
pub struct Cloud {
    pub s3: Arc<dyn S3Actuator>,
    pub ec2: Arc<dyn Ec2Actuator>,
    pub cloudtrail: Arc<dyn CloudTrailActuator>,
    pub rds: Arc<dyn RdsActuator>,
}

impl Cloud {
    /// One implementation of all four traits (the in-memory fake, typically).
    pub fn from_one<T>(t: Arc<T>) -> Self
    where
        T: S3Actuator + Ec2Actuator + CloudTrailActuator + RdsActuator + 'static,
    {
        Self {
            s3: t.clone(),
            ec2: t.clone(),
            cloudtrail: t.clone(),
            rds: t,
        }
    }

    /// The tags of a target, for the exemption check. `None` for resource types without tags
    /// (the account) or not supported here.
    pub async fn tags_of(&self, resource_type: &str, id: &str) -> ActResult<Option<Tags>> {
        match resource_type {
            "AWS::S3::Bucket" => self.s3.get_bucket_tagging(id).await.map(Some),
            "AWS::EC2::SecurityGroup" => self
                .ec2
                .describe_security_group(id)
                .await
                .map(|g| Some(g.tags)),
            t if t.starts_with("AWS::EC2::") => self.ec2.get_tags(id).await.map(Some),
            "AWS::RDS::DBInstance" => match self.rds.find_db_instance(id).await? {
                Some(db) => Ok(Some(db.tags)),
                None => Err(ActError::not_found(
                    "rds:DescribeDBInstances",
                    format!("DB instance {id}"),
                )),
            },
            "AWS::CloudTrail::Trail" => match self.cloudtrail.get_trail(id).await? {
                Some(t) => self.cloudtrail.list_tags(&t.trail_arn).await.map(Some),
                // A deleted trail has no tags; the runbook recreates it.
                None => Ok(Some(Tags::new())),
            },
            _ => Ok(None),
        }
    }
}

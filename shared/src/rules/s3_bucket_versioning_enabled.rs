//! `s3-bucket-versioning-enabled` (`S3_BUCKET_VERSIONING_ENABLED`).
//!
//! COMPLIANT when `BucketVersioningConfiguration.status` is `Enabled`; `Off`, `Suspended` or
//! absent fail. With `isMfaDeleteEnabled=true`, MFA delete must be enabled too
//! (`isMfaDeleteEnabled` true in the item).

use crate::config::{value, ConfigurationItem, Outcome, ParamKind, ParamSpec, Params};

use super::{Rule, Trigger};

/// The rule.
pub struct S3BucketVersioningEnabled;

const PARAMS: &[ParamSpec] = &[ParamSpec::optional(
    "isMfaDeleteEnabled",
    ParamKind::Bool,
    "Also require MFA delete to be enabled.",
)];

impl Rule for S3BucketVersioningEnabled {
    fn name(&self) -> &'static str {
        "s3-bucket-versioning-enabled"
    }
    fn identifier(&self) -> &'static str {
        "S3_BUCKET_VERSIONING_ENABLED"
    }
    fn description(&self) -> &'static str {
        "Versioning is Enabled on the bucket (and MFA delete, if required)."
    }
    fn resource_types(&self) -> &'static [&'static str] {
        &["AWS::S3::Bucket"]
    }
    fn trigger(&self) -> Trigger {
        Trigger::ConfigurationChange
    }
    fn parameters(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn evaluate(&self, item: &ConfigurationItem, params: &Params) -> Outcome {
        let cfg = item.supplementary("BucketVersioningConfiguration");
        let status = cfg
            .and_then(|c| value::string(c, &["status"]))
            .unwrap_or_else(|| "Off".to_string());
        let mut problems = Vec::new();
        if status != "Enabled" {
            problems.push(format!("versioning is {status}: enable versioning"));
        }
        if params.bool("isMfaDeleteEnabled") == Some(true)
            && cfg.and_then(|c| value::bool_of(c, "isMfaDeleteEnabled")) != Some(true)
        {
            problems.push("MFA delete is not enabled".to_string());
        }
        Outcome::from_problems(problems)
    }
}

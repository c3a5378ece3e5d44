//! `s3-bucket-level-public-access-prohibited` (`S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED`).
//!
//! NON_COMPLIANT unless all four bucket-level Block Public Access flags are true. Choice:
//! buckets named in `excludedPublicBuckets` are NOT_APPLICABLE (they are out of the rule's
//! scope), and a bucket without a `PublicAccessBlockConfiguration` fails.

use crate::config::{ConfigurationItem, Outcome, ParamKind, ParamSpec, Params};

use super::s3_common::block_public_access;
use super::{Rule, Trigger};

/// The rule.
pub struct S3BucketLevelPublicAccessProhibited;

const PARAMS: &[ParamSpec] = &[ParamSpec::optional(
    "excludedPublicBuckets",
    ParamKind::Csv,
    "Names of buckets allowed to be public (comma-separated).",
)];

impl Rule for S3BucketLevelPublicAccessProhibited {
    fn name(&self) -> &'static str {
        "s3-bucket-level-public-access-prohibited"
    }
    fn identifier(&self) -> &'static str {
        "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED"
    }
    fn description(&self) -> &'static str {
        "All four bucket-level Block Public Access settings are on."
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
        let name = item.display_name();
        if params.list("excludedPublicBuckets").iter().any(|b| b == name) {
            return Outcome::not_applicable(format!(
                "bucket {name} is listed in excludedPublicBuckets"
            ));
        }
        match block_public_access(item) {
            None => Outcome::non_compliant(
                "the bucket has no Block Public Access configuration: turn on all four settings",
            ),
            Some(bpa) => {
                let off = bpa.disabled();
                if off.is_empty() {
                    Outcome::compliant()
                } else {
                    Outcome::non_compliant(format!(
                        "Block Public Access settings off: {}",
                        off.join(", ")
                    ))
                }
            }
        }
    }
}

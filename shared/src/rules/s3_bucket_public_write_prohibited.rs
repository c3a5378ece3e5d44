//! `s3-bucket-public-write-prohibited` (`S3_BUCKET_PUBLIC_WRITE_PROHIBITED`).
//!
//! NON_COMPLIANT if (the bucket's Block Public Access does not restrict public policies,
//! i.e. `RestrictPublicBuckets` is off, AND the bucket policy allows public write) OR (Block
//! Public Access does not ignore public ACLs, i.e. `IgnorePublicAcls` is off, AND the ACL
//! grants write access to `AllUsers` or `AuthenticatedUsers`). "Public" policies are
//! defined in [`crate::config::policy`]. Choices: `RestrictPublicBuckets` and
//! `IgnorePublicAcls` are the flags that neutralise existing grants (`BlockPublicPolicy` /
//! `BlockPublicAcls` only stop new ones); account-level Block Public Access is not known from
//! the bucket item and is not consulted; an unreadable policy counts as public.

use crate::config::{ConfigurationItem, Outcome, Params};

use super::s3_common::{public_access_findings, Access};
use super::{Rule, Trigger};

/// The rule.
pub struct S3BucketPublicWriteProhibited;

impl Rule for S3BucketPublicWriteProhibited {
    fn name(&self) -> &'static str {
        "s3-bucket-public-write-prohibited"
    }
    fn identifier(&self) -> &'static str {
        "S3_BUCKET_PUBLIC_WRITE_PROHIBITED"
    }
    fn description(&self) -> &'static str {
        "Neither the bucket policy nor the bucket ACL allows public write access (unless Block Public Access neutralises it)."
    }
    fn resource_types(&self) -> &'static [&'static str] {
        &["AWS::S3::Bucket"]
    }
    fn trigger(&self) -> Trigger {
        Trigger::ConfigurationChangeAndPeriodic
    }
    fn evaluate(&self, item: &ConfigurationItem, _params: &Params) -> Outcome {
        Outcome::from_problems(public_access_findings(item, Access::Write))
    }
}

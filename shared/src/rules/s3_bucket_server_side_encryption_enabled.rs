//! `s3-bucket-server-side-encryption-enabled` (`S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED`).
//!
//! COMPLIANT if default encryption is configured (`ServerSideEncryptionConfiguration` with a
//! rule whose `applyServerSideEncryptionByDefault.sseAlgorithm` is set), or if the bucket policy
//! denies `s3:PutObject` for everyone without server-side encryption (`Deny` + `Null
//! s3:x-amz-server-side-encryption = true`, or `StringNotEquals s3:x-amz-server-side-encryption`
//! `AES256`/`aws:kms`/`aws:kms:dsse`). Choice: the annotation on COMPLIANT names the algorithm.

use serde_json::Value;

use crate::config::policy::{Effect, Principal, Statement};
use crate::config::{value, ConfigurationItem, Outcome, Params};

use super::s3_common::{bucket_policy, BucketPolicy};
use super::{Rule, Trigger};

/// The rule.
pub struct S3BucketServerSideEncryptionEnabled;

const SSE_KEY: &str = "s3:x-amz-server-side-encryption";

fn default_algorithm(item: &ConfigurationItem) -> Option<String> {
    let sse = item.supplementary("ServerSideEncryptionConfiguration")?;
    value::list_of(sse, "rules").iter().find_map(|r| {
        r.get("applyServerSideEncryptionByDefault")
            .and_then(|d| d.get("sseAlgorithm"))
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
    })
}

fn denies_unencrypted_puts(s: &Statement) -> bool {
    if s.effect != Effect::Deny
        || !s.principal.as_ref().is_some_and(Principal::is_everyone)
        || !s.covers_action("s3:PutObject")
    {
        return false;
    }
    let null_check = s
        .condition_values(&["Null"], SSE_KEY)
        .iter()
        .any(|v| v.eq_ignore_ascii_case("true"));
    let not_equals = s
        .condition_values(
            &["StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike"],
            SSE_KEY,
        )
        .iter()
        .any(|v| ["AES256", "aws:kms", "aws:kms:dsse"].contains(v));
    null_check || not_equals
}

impl Rule for S3BucketServerSideEncryptionEnabled {
    fn name(&self) -> &'static str {
        "s3-bucket-server-side-encryption-enabled"
    }
    fn identifier(&self) -> &'static str {
        "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED"
    }
    fn description(&self) -> &'static str {
        "The bucket has default encryption, or its policy denies PutObject without server-side encryption."
    }
    fn resource_types(&self) -> &'static [&'static str] {
        &["AWS::S3::Bucket"]
    }
    fn trigger(&self) -> Trigger {
        Trigger::ConfigurationChange
    }
    fn evaluate(&self, item: &ConfigurationItem, _params: &Params) -> Outcome {
        if let Some(alg) = default_algorithm(item) {
            return Outcome::compliant_because(format!("default encryption {alg}"));
        }
        if let BucketPolicy::Document(doc) = bucket_policy(item) {
            if doc.statements.iter().any(denies_unencrypted_puts) {
                return Outcome::compliant_because(
                    "the bucket policy denies PutObject without server-side encryption",
                );
            }
        }
        Outcome::non_compliant(
            "no default encryption (ServerSideEncryptionConfiguration) and no bucket policy denying unencrypted PutObject: enable default encryption (SSE-S3 or SSE-KMS)",
        )
    }
}

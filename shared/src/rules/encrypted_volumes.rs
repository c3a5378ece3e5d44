//! `encrypted-volumes` (`ENCRYPTED_VOLUMES`).
//!
//! Attached EBS volumes (`configuration.attachments` non-empty) must be encrypted, with the KMS
//! key `kmsId` when given; unattached volumes are NOT_APPLICABLE. Choice: `kmsId` matches the
//! volume's `kmsKeyId` when equal or when the key ARN ends with `key/<kmsId>` (a bare key id).

use serde_json::Value;

use crate::config::{value, ConfigurationItem, Outcome, ParamKind, ParamSpec, Params};

use super::{Rule, Trigger};

/// The rule.
pub struct EncryptedVolumes;

const PARAMS: &[ParamSpec] = &[ParamSpec::optional(
    "kmsId",
    ParamKind::String,
    "ID or ARN of the KMS key the volumes must be encrypted with.",
)];

/// Whether `actual` (a key ARN or id) is the key `wanted` (ARN or id).
pub(crate) fn same_kms_key(actual: &str, wanted: &str) -> bool {
    actual == wanted
        || actual.ends_with(&format!("key/{wanted}"))
        || wanted.ends_with(&format!("key/{actual}"))
}

impl Rule for EncryptedVolumes {
    fn name(&self) -> &'static str {
        "encrypted-volumes"
    }
    fn identifier(&self) -> &'static str {
        "ENCRYPTED_VOLUMES"
    }
    fn description(&self) -> &'static str {
        "Attached EBS volumes are encrypted (with the given KMS key, if any)."
    }
    fn resource_types(&self) -> &'static [&'static str] {
        &["AWS::EC2::Volume"]
    }
    fn trigger(&self) -> Trigger {
        Trigger::ConfigurationChange
    }
    fn parameters(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn evaluate(&self, item: &ConfigurationItem, params: &Params) -> Outcome {
        let attached = value::list_of(&item.configuration, "attachments")
            .iter()
            .any(|a| a.is_object());
        if !attached {
            return Outcome::not_applicable("the volume is not attached to an instance");
        }
        if item.config("encrypted").and_then(value::truthy) != Some(true) {
            return Outcome::non_compliant(
                "the attached volume is not encrypted: replace it with an encrypted copy",
            );
        }
        if let Some(wanted) = params.str("kmsId") {
            let actual = item.config("kmsKeyId").and_then(Value::as_str).unwrap_or("");
            if !same_kms_key(actual, wanted) {
                return Outcome::non_compliant(format!(
                    "the volume is encrypted with {} instead of KMS key {wanted}",
                    if actual.is_empty() { "an unknown key" } else { actual }
                ));
            }
        }
        Outcome::compliant()
    }
}

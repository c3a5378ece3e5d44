//! `rds-storage-encrypted` (`RDS_STORAGE_ENCRYPTED`).
//!
//! COMPLIANT when `configuration.storageEncrypted` is true and, with `kmsKeyId` given, the
//! instance's `kmsKeyId` is that key (ARN or bare key id, as for `encrypted-volumes`).

use serde_json::Value;

use crate::config::{value, ConfigurationItem, Outcome, ParamKind, ParamSpec, Params};

use super::encrypted_volumes::same_kms_key;
use super::{Rule, Trigger};

/// The rule.
pub struct RdsStorageEncrypted;

const PARAMS: &[ParamSpec] = &[ParamSpec::optional(
    "kmsKeyId",
    ParamKind::String,
    "ID or ARN of the KMS key the storage must be encrypted with.",
)];

impl Rule for RdsStorageEncrypted {
    fn name(&self) -> &'static str {
        "rds-storage-encrypted"
    }
    fn identifier(&self) -> &'static str {
        "RDS_STORAGE_ENCRYPTED"
    }
    fn description(&self) -> &'static str {
        "RDS DB instances have storage encryption enabled (with the given KMS key, if any)."
    }
    fn resource_types(&self) -> &'static [&'static str] {
        &["AWS::RDS::DBInstance"]
    }
    fn trigger(&self) -> Trigger {
        Trigger::ConfigurationChange
    }
    fn parameters(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn evaluate(&self, item: &ConfigurationItem, params: &Params) -> Outcome {
        if item.config("storageEncrypted").and_then(value::truthy) != Some(true) {
            return Outcome::non_compliant(
                "storage encryption is off (storageEncrypted false): restore from an encrypted snapshot copy",
            );
        }
        if let Some(wanted) = params.str("kmsKeyId") {
            let actual = item.config("kmsKeyId").and_then(Value::as_str).unwrap_or("");
            if !same_kms_key(actual, wanted) {
                return Outcome::non_compliant(format!(
                    "storage is encrypted with {} instead of KMS key {wanted}",
                    if actual.is_empty() { "an unknown key" } else { actual }
                ));
            }
        }
        Outcome::compliant()
    }
}

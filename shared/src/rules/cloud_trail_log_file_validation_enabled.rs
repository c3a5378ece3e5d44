//! `cloud-trail-log-file-validation-enabled` (`CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED`).
//!
//! Evaluates each `AWS::CloudTrail::Trail` item: COMPLIANT when
//! `configuration.logFileValidationEnabled` is true. Choice: evaluated from configuration items
//! (per trail) on changes and, periodically, by listing the recorded trails, rather than from
//! `DescribeTrails`.

use crate::config::{value, ConfigurationItem, Outcome, Params};

use super::{Rule, Trigger};

/// The rule.
pub struct CloudTrailLogFileValidationEnabled;

impl Rule for CloudTrailLogFileValidationEnabled {
    fn name(&self) -> &'static str {
        "cloud-trail-log-file-validation-enabled"
    }
    fn identifier(&self) -> &'static str {
        "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED"
    }
    fn description(&self) -> &'static str {
        "Trails create signed digest files (log file validation is enabled)."
    }
    fn resource_types(&self) -> &'static [&'static str] {
        &["AWS::CloudTrail::Trail"]
    }
    fn trigger(&self) -> Trigger {
        Trigger::ConfigurationChangeAndPeriodic
    }
    fn evaluate(&self, item: &ConfigurationItem, _params: &Params) -> Outcome {
        match item.config("logFileValidationEnabled").and_then(value::truthy) {
            Some(true) => Outcome::compliant(),
            _ => Outcome::non_compliant(format!(
                "log file validation is disabled on trail {}: enable it (EnableLogFileValidation)",
                item.display_name()
            )),
        }
    }
}

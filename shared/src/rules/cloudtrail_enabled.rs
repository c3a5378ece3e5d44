//! `cloudtrail-enabled` (`CLOUD_TRAIL_ENABLED`).
//!
//! Periodic, account-level (`AWS::::Account`): COMPLIANT when at least one trail is logging
//! (`GetTrailStatus.IsLogging`) and, when given, delivers to `s3BucketName`, notifies
//! `snsTopicArn` and sends to `cloudWatchLogsLogGroupArn` (the trailing `:*` of log group ARNs
//! is ignored). Choice: a trail that exists but is stopped does not count.

use crate::config::{AccountData, AccountDataKind, Outcome, ParamSpec, Params, ResourceOutcome};

use super::trail_common::{destination_mismatches, summarize, DESTINATION_PARAMS};
use super::{Rule, Trigger};

/// The rule.
pub struct CloudtrailEnabled;

impl Rule for CloudtrailEnabled {
    fn name(&self) -> &'static str {
        "cloudtrail-enabled"
    }
    fn identifier(&self) -> &'static str {
        "CLOUD_TRAIL_ENABLED"
    }
    fn description(&self) -> &'static str {
        "At least one CloudTrail trail is logging (to the given destinations, if any)."
    }
    fn resource_types(&self) -> &'static [&'static str] {
        &["AWS::::Account"]
    }
    fn trigger(&self) -> Trigger {
        Trigger::Periodic
    }
    fn parameters(&self) -> &'static [ParamSpec] {
        &DESTINATION_PARAMS
    }
    fn account_data(&self) -> &'static [AccountDataKind] {
        &[AccountDataKind::Trails]
    }
    fn evaluate_account(&self, account: &AccountData, params: &Params) -> Vec<ResourceOutcome> {
        let trails = account.trails.as_deref().unwrap_or_default();
        let mut reasons = Vec::new();
        let mut ok = None;
        for t in trails {
            let mut why = Vec::new();
            if !t.is_logging {
                why.push("logging is stopped".to_string());
            }
            why.extend(destination_mismatches(t, params));
            if why.is_empty() {
                ok = Some(t.name.clone());
                break;
            }
            reasons.push((t.name.clone(), why));
        }
        let outcome = match (ok, trails.is_empty()) {
            (Some(name), _) => Outcome::compliant_because(format!("trail {name} is logging")),
            (None, true) => Outcome::non_compliant("no CloudTrail trail exists: create a trail"),
            (None, false) => Outcome::non_compliant(format!(
                "no trail qualifies: {}",
                summarize(&reasons)
            )),
        };
        vec![ResourceOutcome {
            resource_type: "AWS::::Account".into(),
            resource_id: account.account_id.clone(),
            outcome,
        }]
    }
}

//! `multi-region-cloudtrail-enabled` (`MULTI_REGION_CLOUD_TRAIL_ENABLED`).
//!
//! Periodic, account-level (`AWS::::Account`): COMPLIANT when at least one multi-region trail is
//! logging, matches the destination parameters (as `cloudtrail-enabled`), records management
//! events (`includeManagementEvents`, default required) of the `readWriteType` when given
//! (`ReadOnly`, `WriteOnly`, `ALL`; compared with the trail's `All`/`ReadOnly`/`WriteOnly`
//! case-insensitively), and excludes no management event sources. Choices: a trail whose event
//! selectors are unknown is read as recording all management events; `includeManagementEvents
//! =false` only waives the requirement.

use crate::config::{
    AccountData, AccountDataKind, ManagementEvents, Outcome, ParamKind, ParamSpec, Params,
    ResourceOutcome,
};

use super::trail_common::{destination_mismatches, summarize, DESTINATION_PARAMS};
use super::{Rule, Trigger};

/// The rule.
pub struct MultiRegionCloudtrailEnabled;

const PARAMS: &[ParamSpec] = &[
    DESTINATION_PARAMS[0],
    DESTINATION_PARAMS[1],
    DESTINATION_PARAMS[2],
    ParamSpec::optional(
        "includeManagementEvents",
        ParamKind::Bool,
        "Require the trail to record management events (default: required).",
    ),
    ParamSpec::optional(
        "readWriteType",
        ParamKind::OneOf(&["ReadOnly", "WriteOnly", "ALL"]),
        "Type of management events the trail must record.",
    ),
];

impl Rule for MultiRegionCloudtrailEnabled {
    fn name(&self) -> &'static str {
        "multi-region-cloudtrail-enabled"
    }
    fn identifier(&self) -> &'static str {
        "MULTI_REGION_CLOUD_TRAIL_ENABLED"
    }
    fn description(&self) -> &'static str {
        "At least one multi-region trail is logging management events (to the given destinations, if any)."
    }
    fn resource_types(&self) -> &'static [&'static str] {
        &["AWS::::Account"]
    }
    fn trigger(&self) -> Trigger {
        Trigger::Periodic
    }
    fn parameters(&self) -> &'static [ParamSpec] {
        PARAMS
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
            if !t.is_multi_region_trail {
                why.push("not multi-region".to_string());
            }
            if !t.is_logging {
                why.push("logging is stopped".to_string());
            }
            why.extend(destination_mismatches(t, params));
            let me = t.management_events.clone().unwrap_or_else(ManagementEvents::default);
            if params.bool("includeManagementEvents") != Some(false) && !me.include {
                why.push("does not record management events".to_string());
            }
            if let Some(rw) = params.str("readWriteType") {
                if !me.read_write_type.eq_ignore_ascii_case(rw) {
                    why.push(format!(
                        "records {} management events instead of {rw}",
                        me.read_write_type
                    ));
                }
            }
            if !me.exclude_sources.is_empty() {
                why.push(format!(
                    "excludes management event sources {}",
                    me.exclude_sources.join(", ")
                ));
            }
            if why.is_empty() {
                ok = Some(t.name.clone());
                break;
            }
            reasons.push((t.name.clone(), why));
        }
        let outcome = match (ok, trails.is_empty()) {
            (Some(name), _) => {
                Outcome::compliant_because(format!("multi-region trail {name} is logging"))
            }
            (None, true) => Outcome::non_compliant(
                "no CloudTrail trail exists: create a multi-region trail",
            ),
            (None, false) => Outcome::non_compliant(format!(
                "no multi-region trail qualifies: {}",
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

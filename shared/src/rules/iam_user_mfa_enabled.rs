//! `iam-user-mfa-enabled` (`IAM_USER_MFA_ENABLED`).
//!
//! Periodic: one evaluation per IAM user (`AWS::IAM::User`, resource id = the user id, as
//! Config records users): COMPLIANT when the user has an MFA device. Choice: every user is
//! evaluated, with or without a console password (`mfa-enabled-for-iam-console-access` is the
//! console-only variant); users that disappear are cleaned up as NOT_APPLICABLE by the periodic
//! run.

use crate::config::{AccountData, AccountDataKind, Outcome, Params, ResourceOutcome};

use super::{Rule, Trigger};

/// The rule.
pub struct IamUserMfaEnabled;

impl Rule for IamUserMfaEnabled {
    fn name(&self) -> &'static str {
        "iam-user-mfa-enabled"
    }
    fn identifier(&self) -> &'static str {
        "IAM_USER_MFA_ENABLED"
    }
    fn description(&self) -> &'static str {
        "Every IAM user has an MFA device."
    }
    fn resource_types(&self) -> &'static [&'static str] {
        &["AWS::IAM::User"]
    }
    fn trigger(&self) -> Trigger {
        Trigger::Periodic
    }
    fn account_data(&self) -> &'static [AccountDataKind] {
        &[AccountDataKind::IamUsers]
    }
    fn evaluate_account(&self, account: &AccountData, _params: &Params) -> Vec<ResourceOutcome> {
        account
            .iam_users
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|u| ResourceOutcome {
                resource_type: "AWS::IAM::User".into(),
                resource_id: if u.user_id.is_empty() {
                    u.user_name.clone()
                } else {
                    u.user_id.clone()
                },
                outcome: if u.mfa_enabled {
                    Outcome::compliant()
                } else {
                    Outcome::non_compliant(format!(
                        "IAM user {} has no MFA device: assign one",
                        u.user_name
                    ))
                },
            })
            .collect()
    }
}

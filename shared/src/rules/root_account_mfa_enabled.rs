//! `root-account-mfa-enabled` (`ROOT_ACCOUNT_MFA_ENABLED`).
//!
//! Periodic, account-level (`AWS::::Account`): COMPLIANT when the root user has an MFA device
//! (`GetAccountSummary` `AccountMFAEnabled = 1`).

use crate::config::{AccountData, AccountDataKind, Outcome, ResourceOutcome, Params};

use super::{Rule, Trigger};

/// The rule.
pub struct RootAccountMfaEnabled;

impl Rule for RootAccountMfaEnabled {
    fn name(&self) -> &'static str {
        "root-account-mfa-enabled"
    }
    fn identifier(&self) -> &'static str {
        "ROOT_ACCOUNT_MFA_ENABLED"
    }
    fn description(&self) -> &'static str {
        "The root user has multi-factor authentication enabled."
    }
    fn resource_types(&self) -> &'static [&'static str] {
        &["AWS::::Account"]
    }
    fn trigger(&self) -> Trigger {
        Trigger::Periodic
    }
    fn account_data(&self) -> &'static [AccountDataKind] {
        &[AccountDataKind::RootAccount]
    }
    fn evaluate_account(&self, account: &AccountData, _params: &Params) -> Vec<ResourceOutcome> {
        let mfa = account.root.as_ref().is_some_and(|r| r.mfa_enabled);
        let outcome = if mfa {
            Outcome::compliant()
        } else {
            Outcome::non_compliant("the root user has no MFA device: enable MFA for the root user")
        };
        vec![ResourceOutcome {
            resource_type: "AWS::::Account".into(),
            resource_id: account.account_id.clone(),
            outcome,
        }]
    }
}

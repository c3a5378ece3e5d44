//! `iam-password-policy` (`IAM_PASSWORD_POLICY`).
//!
//! Periodic, account-level (`AWS::::Account`). Defaults: upper, lower, symbols and numbers
//! required; minimum length 14; reuse prevention 24; maximum age 90 days. No password policy is
//! NON_COMPLIANT. A `Require*` parameter set to `false` waives that check; the policy may be
//! stricter than the parameters (longer minimum, more remembered passwords, shorter maximum
//! age). Choice: a policy whose passwords never expire fails the maximum-age check.

use crate::config::{
    AccountData, AccountDataKind, Outcome, ParamKind, ParamSpec, Params, PasswordPolicy,
    ResourceOutcome,
};

use super::{Rule, Trigger};

/// The rule.
pub struct IamPasswordPolicy;

const PARAMS: &[ParamSpec] = &[
    ParamSpec::with_default(
        "RequireUppercaseCharacters",
        ParamKind::Bool,
        "true",
        "Require at least one uppercase letter.",
    ),
    ParamSpec::with_default(
        "RequireLowercaseCharacters",
        ParamKind::Bool,
        "true",
        "Require at least one lowercase letter.",
    ),
    ParamSpec::with_default("RequireSymbols", ParamKind::Bool, "true", "Require at least one symbol."),
    ParamSpec::with_default("RequireNumbers", ParamKind::Bool, "true", "Require at least one number."),
    ParamSpec::with_default(
        "MinimumPasswordLength",
        ParamKind::Int { min: 6, max: 128 },
        "14",
        "Minimum password length.",
    ),
    ParamSpec::with_default(
        "PasswordReusePrevention",
        ParamKind::Int { min: 1, max: 24 },
        "24",
        "Number of previous passwords that cannot be reused.",
    ),
    ParamSpec::with_default(
        "MaxPasswordAge",
        ParamKind::Int { min: 1, max: 1095 },
        "90",
        "Days before a password expires.",
    ),
];

fn problems(p: &PasswordPolicy, params: &Params) -> Vec<String> {
    let mut out = Vec::new();
    let flags = [
        ("RequireUppercaseCharacters", p.require_uppercase_characters, "uppercase letters"),
        ("RequireLowercaseCharacters", p.require_lowercase_characters, "lowercase letters"),
        ("RequireSymbols", p.require_symbols, "symbols"),
        ("RequireNumbers", p.require_numbers, "numbers"),
    ];
    for (param, actual, what) in flags {
        if params.bool(param) == Some(true) && !actual {
            out.push(format!("does not require {what}"));
        }
    }
    if let Some(min) = params.int("MinimumPasswordLength") {
        let actual = i64::from(p.minimum_password_length.unwrap_or(0));
        if actual < min {
            out.push(format!("minimum length is {actual}, needs at least {min}"));
        }
    }
    if let Some(reuse) = params.int("PasswordReusePrevention") {
        let actual = i64::from(p.password_reuse_prevention.unwrap_or(0));
        if actual < reuse {
            out.push(format!("remembers {actual} passwords, needs at least {reuse}"));
        }
    }
    if let Some(max) = params.int("MaxPasswordAge") {
        match p.max_password_age.filter(|a| *a > 0) {
            None => out.push(format!("passwords never expire, need a maximum age of {max} days or less")),
            Some(a) if i64::from(a) > max => {
                out.push(format!("maximum age is {a} days, needs {max} or less"))
            }
            Some(_) => {}
        }
    }
    out
}

impl Rule for IamPasswordPolicy {
    fn name(&self) -> &'static str {
        "iam-password-policy"
    }
    fn identifier(&self) -> &'static str {
        "IAM_PASSWORD_POLICY"
    }
    fn description(&self) -> &'static str {
        "The account password policy meets the required complexity, length, reuse and age limits."
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
        &[AccountDataKind::PasswordPolicy]
    }
    fn evaluate_account(&self, account: &AccountData, params: &Params) -> Vec<ResourceOutcome> {
        let outcome = match account.password_policy.as_ref().and_then(Option::as_ref) {
            None => Outcome::non_compliant(
                "the account has no IAM password policy: set one (UpdateAccountPasswordPolicy)",
            ),
            Some(p) => {
                let found = problems(p, params);
                if found.is_empty() {
                    Outcome::compliant()
                } else {
                    Outcome::non_compliant(format!("password policy {}", found.join("; ")))
                }
            }
        };
        vec![ResourceOutcome {
            resource_type: "AWS::::Account".into(),
            resource_id: account.account_id.clone(),
            outcome,
        }]
    }
}

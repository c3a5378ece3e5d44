//! The Config rule library: one file per rule, registered in this module.
//!
//! Adding a rule: write `rules/my_rule.rs` with a unit struct implementing [`Rule`], and add one
//! line `my_rule::MyRule,` to the `registry!` list below.

use std::fmt;

use serde::Serialize;

use crate::config::{
    AccountData, AccountDataKind, ConfigError, ConfigurationItem, Outcome, ParamError, ParamSpec,
    Params, ResourceOutcome,
};

mod s3_common;
mod sg_common;
mod trail_common;

/// When Config invokes the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Trigger {
    /// On configuration changes of the rule's resource types.
    ConfigurationChange,
    /// On a schedule.
    Periodic,
    /// Both.
    ConfigurationChangeAndPeriodic,
}

impl Trigger {
    /// As the managed-rule pages write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConfigurationChange => "configuration changes",
            Self::Periodic => "periodic",
            Self::ConfigurationChangeAndPeriodic => "configuration changes and periodic",
        }
    }
}

/// A Config rule.
///
/// A *resource rule* evaluates one configuration item at a time ([`evaluate`](Rule::evaluate));
/// on periodic runs the evaluator lists and fetches the rule's resource types itself. An
/// *account rule* declares the [`account_data`](Rule::account_data) it needs and evaluates
/// that ([`evaluate_account`](Rule::evaluate_account)); the evaluator fetches it through the
/// port. Rules never see deleted items, out-of-scope resources or other resource types: the
/// evaluator answers `NOT_APPLICABLE` for those.
pub trait Rule: Send + Sync {
    /// The managed-rule name, e.g. `restricted-ssh`.
    fn name(&self) -> &'static str;
    /// The managed-rule identifier, e.g. `INCOMING_SSH_DISABLED`.
    fn identifier(&self) -> &'static str;
    /// One sentence: what COMPLIANT means.
    fn description(&self) -> &'static str;
    /// The resource types the rule evaluates (`AWS::::Account` for account-level results).
    fn resource_types(&self) -> &'static [&'static str];
    /// When the rule runs.
    fn trigger(&self) -> Trigger;
    /// The parameters it accepts.
    fn parameters(&self) -> &'static [ParamSpec] {
        &[]
    }
    /// Checks that span several parameters (each value is already type-checked).
    fn validate(&self, _params: &Params) -> Result<(), ParamError> {
        Ok(())
    }
    /// The account data an account rule needs; empty for resource rules.
    fn account_data(&self) -> &'static [AccountDataKind] {
        &[]
    }
    /// Evaluates one current, in-scope item of one of [`resource_types`](Rule::resource_types).
    fn evaluate(&self, _item: &ConfigurationItem, _params: &Params) -> Outcome {
        Outcome::not_applicable(format!(
            "{} evaluates the account, not individual configuration items",
            self.name()
        ))
    }
    /// Evaluates the account; called only with every declared kind of account data present.
    fn evaluate_account(&self, _account: &AccountData, _params: &Params) -> Vec<ResourceOutcome> {
        Vec::new()
    }
}

/// Helpers on every rule.
pub trait RuleExt {
    /// Whether the rule evaluates `resource_type`.
    fn applies_to(&self, resource_type: &str) -> bool;
    /// Whether it is an account rule.
    fn is_account_rule(&self) -> bool;
    /// Validates raw `ruleParameters` (without the `rule` key) into typed parameters.
    fn parse_params(
        &self,
        raw: &std::collections::BTreeMap<String, serde_json::Value>,
    ) -> Result<Params, ParamError>;
}

impl<R: Rule + ?Sized> RuleExt for R {
    fn applies_to(&self, resource_type: &str) -> bool {
        self.resource_types().contains(&resource_type)
    }

    fn is_account_rule(&self) -> bool {
        !self.account_data().is_empty()
    }

    fn parse_params(
        &self,
        raw: &std::collections::BTreeMap<String, serde_json::Value>,
    ) -> Result<Params, ParamError> {
        let params = Params::parse(self.parameters(), raw)?;
        self.validate(&params)?;
        Ok(params)
    }
}

macro_rules! registry {
    ($($module:ident :: $rule:ident),* $(,)?) => {
        $(mod $module;)*
        /// Every rule, in listing order.
        static RULES: &[&dyn Rule] = &[$(&$module::$rule),*];
    };
}

registry! {
    required_tags::RequiredTags,
    s3_bucket_public_read_prohibited::S3BucketPublicReadProhibited,
    s3_bucket_public_write_prohibited::S3BucketPublicWriteProhibited,
    s3_bucket_ssl_requests_only::S3BucketSslRequestsOnly,
    s3_bucket_server_side_encryption_enabled::S3BucketServerSideEncryptionEnabled,
    s3_bucket_versioning_enabled::S3BucketVersioningEnabled,
    s3_bucket_level_public_access_prohibited::S3BucketLevelPublicAccessProhibited,
    encrypted_volumes::EncryptedVolumes,
    rds_storage_encrypted::RdsStorageEncrypted,
    restricted_ssh::RestrictedSsh,
    restricted_common_ports::RestrictedCommonPorts,
    vpc_default_security_group_closed::VpcDefaultSecurityGroupClosed,
    ec2_instance_no_public_ip::Ec2InstanceNoPublicIp,
    cloudtrail_enabled::CloudtrailEnabled,
    multi_region_cloudtrail_enabled::MultiRegionCloudtrailEnabled,
    cloud_trail_log_file_validation_enabled::CloudTrailLogFileValidationEnabled,
    iam_password_policy::IamPasswordPolicy,
    root_account_mfa_enabled::RootAccountMfaEnabled,
    iam_user_mfa_enabled::IamUserMfaEnabled,
}

/// Every registered rule.
pub fn all() -> &'static [&'static dyn Rule] {
    RULES
}

/// The rule whose name or identifier is exactly `name` (identifier case-insensitively).
pub fn find(name: &str) -> Option<&'static dyn Rule> {
    let n = name.trim();
    RULES
        .iter()
        .copied()
        .find(|r| r.name() == n || r.identifier().eq_ignore_ascii_case(n))
}

fn known_rules() -> String {
    RULES
        .iter()
        .map(|r| r.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Chooses the rule: `requested` (the `rule` parameter or the CLI's `--rule`) must name a rule
/// exactly; otherwise the Config rule name is matched exactly, then by suffix, then by
/// substring (longest rule name wins, so `org-multi-region-cloudtrail-enabled` is
/// `multi-region-cloudtrail-enabled`, not `cloudtrail-enabled`).
pub fn select(
    requested: Option<&str>,
    config_rule_name: Option<&str>,
) -> Result<&'static dyn Rule, ConfigError> {
    if let Some(r) = requested {
        return find(r).ok_or_else(|| ConfigError::UnknownRule {
            requested: r.to_string(),
            known: known_rules(),
        });
    }
    let Some(name) = config_rule_name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Err(ConfigError::UnknownRule {
            requested: "(no rule parameter and no Config rule name)".to_string(),
            known: known_rules(),
        });
    };
    if let Some(r) = find(name) {
        return Ok(r);
    }
    let lower = name.to_ascii_lowercase();
    let longest = |pred: &dyn Fn(&str) -> bool| {
        RULES
            .iter()
            .copied()
            .filter(|r| pred(r.name()))
            .max_by_key(|r| r.name().len())
    };
    longest(&|n| lower.ends_with(n))
        .or_else(|| longest(&|n| lower.contains(n)))
        .ok_or_else(|| ConfigError::UnknownRule {
            requested: name.to_string(),
            known: known_rules(),
        })
}

/// A parameter in a rule listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParamInfo {
    /// The parameter name.
    pub name: &'static str,
    /// Its type, e.g. `port`, `CSV`, `boolean`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The default, as Config would pass it.
    pub default: Option<&'static str>,
    /// Whether it is required.
    pub required: bool,
    /// What it does.
    pub description: &'static str,
}

/// A rule in a listing (`trailwarden rules`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleInfo {
    /// e.g. `restricted-ssh`.
    pub name: &'static str,
    /// e.g. `INCOMING_SSH_DISABLED`.
    pub identifier: &'static str,
    /// What COMPLIANT means.
    pub description: &'static str,
    /// Evaluated resource types.
    pub resource_types: Vec<&'static str>,
    /// When it runs.
    pub trigger: &'static str,
    /// Account data it needs (account rules).
    pub account_data: Vec<&'static str>,
    /// Its parameters.
    pub parameters: Vec<ParamInfo>,
}

impl fmt::Display for RuleInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} ({})", self.name, self.identifier)?;
        writeln!(f, "  {}", self.description)?;
        writeln!(f, "  resources: {}", self.resource_types.join(", "))?;
        writeln!(f, "  trigger: {}", self.trigger)?;
        if !self.account_data.is_empty() {
            writeln!(f, "  account data: {}", self.account_data.join(", "))?;
        }
        for p in &self.parameters {
            write!(f, "  --{} <{}>", p.name, p.kind)?;
            match (p.default, p.required) {
                (Some(d), _) => write!(f, " (default {d})")?,
                (None, true) => write!(f, " (required)")?,
                (None, false) => write!(f, " (optional)")?,
            }
            writeln!(f, ": {}", p.description)?;
        }
        Ok(())
    }
}

/// Describes a rule.
pub fn describe(rule: &dyn Rule) -> RuleInfo {
    RuleInfo {
        name: rule.name(),
        identifier: rule.identifier(),
        description: rule.description(),
        resource_types: rule.resource_types().to_vec(),
        trigger: rule.trigger().as_str(),
        account_data: rule.account_data().iter().map(|k| k.json_key()).collect(),
        parameters: rule
            .parameters()
            .iter()
            .map(|p| ParamInfo {
                name: p.name,
                kind: p.kind.to_string(),
                default: p.default,
                required: p.required,
                description: p.description,
            })
            .collect(),
    }
}

/// Every rule with its parameters and defaults, for `trailwarden rules`.
pub fn list_rules() -> Vec<RuleInfo> {
    RULES.iter().map(|r| describe(*r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn registry_is_consistent() {
        let mut names: Vec<&str> = all().iter().map(|r| r.name()).collect();
        assert_eq!(names.len(), 19);
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 19, "duplicate rule names");
        for r in all() {
            assert!(!r.resource_types().is_empty(), "{}", r.name());
            assert!(!r.description().is_empty(), "{}", r.name());
            // Every default must pass the rule's own validation.
            r.parse_params(&BTreeMap::new())
                .unwrap_or_else(|e| panic!("{}: defaults invalid: {e}", r.name()));
            assert_eq!(find(r.name()).map(|x| x.name()), Some(r.name()));
            assert_eq!(find(r.identifier()).map(|x| x.name()), Some(r.name()));
        }
    }

    #[test]
    fn selection() {
        let n = |req: Option<&str>, cfg: Option<&str>| select(req, cfg).map(|r| r.name());
        assert_eq!(
            n(Some("restricted-ssh"), Some("whatever")).unwrap(),
            "restricted-ssh"
        );
        assert_eq!(n(None, Some("restricted-ssh")).unwrap(), "restricted-ssh");
        assert_eq!(
            n(None, Some("INCOMING_SSH_DISABLED")).unwrap(),
            "restricted-ssh"
        );
        assert_eq!(
            n(None, Some("trailwarden-restricted-ssh")).unwrap(),
            "restricted-ssh"
        );
        assert_eq!(
            n(None, Some("restricted-ssh-conformance-pack-abc123")).unwrap(),
            "restricted-ssh"
        );
        assert_eq!(
            n(None, Some("org-multi-region-cloudtrail-enabled")).unwrap(),
            "multi-region-cloudtrail-enabled"
        );
        assert_eq!(
            n(None, Some("Prod-CloudTrail-Enabled")).unwrap(),
            "cloudtrail-enabled"
        );
        let e = n(Some("nope"), None).unwrap_err().to_string();
        assert!(
            e.starts_with("unknown rule 'nope'; known rules: required-tags, "),
            "{e}"
        );
        assert!(e.contains("iam-user-mfa-enabled"));
        let e = n(None, Some("MyRule")).unwrap_err().to_string();
        assert!(e.starts_with("unknown rule 'MyRule'"), "{e}");
        assert!(n(None, None).is_err());
    }

    #[test]
    fn listing() {
        let l = list_rules();
        let ports = l
            .iter()
            .find(|r| r.name == "restricted-common-ports")
            .unwrap();
        let p1 = ports
            .parameters
            .iter()
            .find(|p| p.name == "blockedPort1")
            .unwrap();
        assert_eq!(p1.default, Some("20"));
        let text = ports.to_string();
        assert!(
            text.contains("--blockedPort5 <port> (default 4333)"),
            "{text}"
        );
        let v = serde_json::to_value(&l).unwrap();
        assert_eq!(v[0]["name"], "required-tags");
        assert_eq!(v[0]["parameters"][0]["default"], "CostCenter");
    }
}

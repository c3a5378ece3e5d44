//! Account-level data for periodic account rules (`cloudtrail-enabled`, `iam-password-policy`,
//! `root-account-mfa-enabled`, `iam-user-mfa-enabled`, ...), as plain domain structs.
//!
//! The AWS adapter fills them from CloudTrail (`DescribeTrails` + `GetTrailStatus` +
//! `GetEventSelectors`) and IAM (`GetAccountPasswordPolicy`, `GetAccountSummary`, `ListUsers` +
//! `ListMFADevices` or the credential report). They are also JSON documents (camelCase), so the
//! CLI can evaluate an account rule offline from a file.

use serde::{Deserialize, Deserializer, Serialize};

/// Which account data a rule needs; the evaluator fetches only those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AccountDataKind {
    /// [`AccountData::trails`].
    Trails,
    /// [`AccountData::password_policy`].
    PasswordPolicy,
    /// [`AccountData::root`].
    RootAccount,
    /// [`AccountData::iam_users`].
    IamUsers,
}

impl AccountDataKind {
    /// The JSON key of this data in an [`AccountData`] document.
    pub fn json_key(self) -> &'static str {
        match self {
            Self::Trails => "trails",
            Self::PasswordPolicy => "passwordPolicy",
            Self::RootAccount => "root",
            Self::IamUsers => "iamUsers",
        }
    }
}

/// Management-event selection of a trail (`GetEventSelectors`; advanced selectors flattened
/// by the adapter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagementEvents {
    /// `IncludeManagementEvents`.
    pub include: bool,
    /// `ReadWriteType`: `All`, `ReadOnly` or `WriteOnly`.
    pub read_write_type: String,
    /// `ExcludeManagementEventSources` (e.g. `kms.amazonaws.com`).
    #[serde(default)]
    pub exclude_sources: Vec<String>,
}

impl Default for ManagementEvents {
    fn default() -> Self {
        Self {
            include: true,
            read_write_type: "All".to_string(),
            exclude_sources: Vec::new(),
        }
    }
}

/// One trail: `DescribeTrails` + `GetTrailStatus` + `GetEventSelectors`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrailDescription {
    /// `Name`.
    pub name: String,
    /// `TrailARN`.
    pub arn: Option<String>,
    /// `HomeRegion`.
    pub home_region: Option<String>,
    /// `IsMultiRegionTrail`.
    pub is_multi_region_trail: bool,
    /// `IsOrganizationTrail`.
    pub is_organization_trail: bool,
    /// `GetTrailStatus.IsLogging`.
    pub is_logging: bool,
    /// `S3BucketName`.
    pub s3_bucket_name: Option<String>,
    /// `SnsTopicARN`.
    pub sns_topic_arn: Option<String>,
    /// `CloudWatchLogsLogGroupArn`.
    pub cloud_watch_logs_log_group_arn: Option<String>,
    /// `LogFileValidationEnabled`.
    pub log_file_validation_enabled: bool,
    /// `IncludeGlobalServiceEvents`.
    pub include_global_service_events: bool,
    /// Management-event selection; `None` = not known, read as the default (all management
    /// events).
    pub management_events: Option<ManagementEvents>,
}

/// `GetAccountPasswordPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PasswordPolicy {
    /// `MinimumPasswordLength`.
    pub minimum_password_length: Option<u32>,
    /// `RequireSymbols`.
    pub require_symbols: bool,
    /// `RequireNumbers`.
    pub require_numbers: bool,
    /// `RequireUppercaseCharacters`.
    pub require_uppercase_characters: bool,
    /// `RequireLowercaseCharacters`.
    pub require_lowercase_characters: bool,
    /// `AllowUsersToChangePassword`.
    pub allow_users_to_change_password: bool,
    /// `MaxPasswordAge` (days; `None` or 0 = passwords never expire).
    pub max_password_age: Option<u32>,
    /// `PasswordReusePrevention`.
    pub password_reuse_prevention: Option<u32>,
    /// `HardExpiry`.
    pub hard_expiry: Option<bool>,
}

/// The root user, from `GetAccountSummary` (`AccountMFAEnabled`, `AccountAccessKeysPresent`)
/// or the credential report's `<root_account>` line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RootAccount {
    /// Whether the root user has an MFA device.
    pub mfa_enabled: bool,
    /// Whether the root user has access keys, if known.
    pub access_keys_present: Option<bool>,
}

/// One IAM user (`ListUsers` + `ListMFADevices`, or the credential report).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IamUserSummary {
    /// `UserName`.
    pub user_name: String,
    /// `UserId` (`AIDA...`), the resource id Config uses for `AWS::IAM::User`.
    pub user_id: String,
    /// `Arn`.
    pub arn: Option<String>,
    /// Whether the user has at least one MFA device.
    pub mfa_enabled: bool,
    /// Whether the user has a console password, if known.
    pub password_enabled: Option<bool>,
}

/// Everything account rules may need. A field is `None` when it was not fetched; for the
/// password policy `Some(None)` means the account has no password policy (`NoSuchEntity`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountData {
    /// The account id (resource id of `AWS::::Account` evaluations).
    #[serde(default)]
    pub account_id: String,
    /// All trails visible in the region (including shadow copies of multi-region trails).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trails: Option<Vec<TrailDescription>>,
    /// The password policy: `Some(None)` = none set.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub password_policy: Option<Option<PasswordPolicy>>,
    /// The root user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<RootAccount>,
    /// All IAM users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_users: Option<Vec<IamUserSummary>>,
}

impl AccountData {
    /// Whether the given data is present.
    pub fn has(&self, kind: AccountDataKind) -> bool {
        match kind {
            AccountDataKind::Trails => self.trails.is_some(),
            AccountDataKind::PasswordPolicy => self.password_policy.is_some(),
            AccountDataKind::RootAccount => self.root.is_some(),
            AccountDataKind::IamUsers => self.iam_users.is_some(),
        }
    }
}

fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy_absent_null_or_set() {
        let a: AccountData = serde_json::from_str(r#"{"accountId":"1"}"#).unwrap();
        assert_eq!(a.password_policy, None);
        let a: AccountData =
            serde_json::from_str(r#"{"accountId":"1","passwordPolicy":null}"#).unwrap();
        assert_eq!(a.password_policy, Some(None));
        assert!(a.has(AccountDataKind::PasswordPolicy));
        let a: AccountData = serde_json::from_str(
            r#"{"accountId":"1","passwordPolicy":{"minimumPasswordLength":14}}"#,
        )
        .unwrap();
        assert_eq!(
            a.password_policy.unwrap().unwrap().minimum_password_length,
            Some(14)
        );
    }
}

//! S3 bucket items: the interesting parts live in `supplementaryConfiguration`
//! (`PublicAccessBlockConfiguration`, `BucketPolicy.policyText`, `AccessControlList`,
//! `ServerSideEncryptionConfiguration`, `BucketVersioningConfiguration`).
//!
//! Only the bucket's own Block Public Access settings are known from the item; the account-level
//! `AWS::S3::AccountPublicAccessBlock` is a separate resource and is not consulted.

use serde_json::Value;

use crate::config::policy::PolicyDocument;
use crate::config::{value, ConfigurationItem};

/// The bucket-level Block Public Access flags (all `false` when not configured).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BlockPublicAccess {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl BlockPublicAccess {
    /// The names of the flags that are off.
    pub fn disabled(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if !self.block_public_acls {
            out.push("BlockPublicAcls");
        }
        if !self.ignore_public_acls {
            out.push("IgnorePublicAcls");
        }
        if !self.block_public_policy {
            out.push("BlockPublicPolicy");
        }
        if !self.restrict_public_buckets {
            out.push("RestrictPublicBuckets");
        }
        out
    }
}

/// `supplementaryConfiguration.PublicAccessBlockConfiguration`, `None` when absent.
pub(crate) fn block_public_access(item: &ConfigurationItem) -> Option<BlockPublicAccess> {
    let v = item.supplementary("PublicAccessBlockConfiguration")?;
    if !v.is_object() {
        return None;
    }
    let flag = |k: &str| value::bool_of(v, k).unwrap_or(false);
    Some(BlockPublicAccess {
        block_public_acls: flag("blockPublicAcls"),
        ignore_public_acls: flag("ignorePublicAcls"),
        block_public_policy: flag("blockPublicPolicy"),
        restrict_public_buckets: flag("restrictPublicBuckets"),
    })
}

/// The bucket policy.
pub(crate) enum BucketPolicy {
    /// No policy (`policyText` null or absent).
    None,
    /// A readable policy.
    Document(PolicyDocument),
    /// A policy that does not parse, with the reason.
    Unreadable(String),
}

/// `supplementaryConfiguration.BucketPolicy.policyText`.
pub(crate) fn bucket_policy(item: &ConfigurationItem) -> BucketPolicy {
    let Some(bp) = item.supplementary("BucketPolicy") else {
        return BucketPolicy::None;
    };
    let text = match bp.get("policyText") {
        None | Some(Value::Null) => return BucketPolicy::None,
        Some(Value::String(s)) if s.trim().is_empty() => return BucketPolicy::None,
        Some(t) => t,
    };
    match PolicyDocument::from_value(text) {
        Ok(d) => BucketPolicy::Document(d),
        Err(e) => BucketPolicy::Unreadable(e.to_string()),
    }
}

/// The bucket's ARN (`arn:aws:s3:::name`).
pub(crate) fn bucket_arn(item: &ConfigurationItem) -> String {
    let name = item
        .configuration
        .get("name")
        .and_then(Value::as_str)
        .or(item.resource_name.as_deref())
        .unwrap_or(&item.resource_id);
    format!("arn:aws:s3:::{name}")
}

/// A public ACL grant: `(group, permission)`, e.g. `("AllUsers", "Read")`.
pub(crate) fn public_acl_grants(item: &ConfigurationItem) -> Vec<(&'static str, String)> {
    let Some(acl) = item.supplementary("AccessControlList") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in ["grantList", "grantSet", "grants"] {
        for g in value::list_of(acl, key) {
            let Some(group) = g.get("grantee").and_then(public_group) else {
                continue;
            };
            let perm = g
                .get("permission")
                .and_then(value::scalar_text)
                .unwrap_or_default();
            let entry = (group, perm);
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
    }
    out
}

fn public_group(grantee: &Value) -> Option<&'static str> {
    let texts: Vec<String> = match grantee {
        Value::String(s) => vec![s.clone()],
        Value::Object(m) => m.values().filter_map(value::scalar_text).collect(),
        _ => Vec::new(),
    };
    for t in texts {
        let last = t.rsplit('/').next().unwrap_or(&t);
        if last.eq_ignore_ascii_case("AllUsers") {
            return Some("AllUsers");
        }
        if last.eq_ignore_ascii_case("AuthenticatedUsers") {
            return Some("AuthenticatedUsers");
        }
    }
    None
}

/// Read or write access, for the public-read / public-write rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

impl Access {
    /// Representative actions checked against the bucket policy.
    fn actions(self) -> &'static [&'static str] {
        match self {
            Access::Read => &[
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:ListBucket",
                "s3:ListBucketVersions",
            ],
            Access::Write => &[
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:DeleteObjectVersion",
                "s3:PutObjectAcl",
                "s3:PutBucketPolicy",
                "s3:PutBucketAcl",
                "s3:RestoreObject",
                "s3:AbortMultipartUpload",
            ],
        }
    }

    /// Whether an ACL permission (`Read`, `READ`, `FULL_CONTROL`, ...) gives this access.
    fn acl_grants(self, permission: &str) -> bool {
        let p: String = permission
            .chars()
            .filter(|c| *c != '_')
            .collect::<String>()
            .to_ascii_lowercase();
        match self {
            Access::Read => p == "read" || p == "fullcontrol",
            Access::Write => p == "write" || p == "writeacp" || p == "fullcontrol",
        }
    }

    fn word(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// Why the bucket allows public `access`, or an empty list. Policy grants count unless
/// `RestrictPublicBuckets` is on; ACL grants count unless `IgnorePublicAcls` is on. An
/// unreadable policy counts as public (it cannot be shown to be private).
pub(crate) fn public_access_findings(item: &ConfigurationItem, access: Access) -> Vec<String> {
    let bpa = block_public_access(item).unwrap_or_default();
    let mut findings = Vec::new();
    if !bpa.restrict_public_buckets {
        match bucket_policy(item) {
            BucketPolicy::None => {}
            BucketPolicy::Unreadable(why) => findings.push(why),
            BucketPolicy::Document(doc) => {
                for (label, actions) in doc.public_grants(access.actions()) {
                    findings.push(format!(
                        "bucket policy {label} allows public {} ({}) to Principal * without a restricting condition",
                        access.word(),
                        actions.join(", ")
                    ));
                }
            }
        }
    }
    if !bpa.ignore_public_acls {
        for (group, perm) in public_acl_grants(item) {
            if access.acl_grants(&perm) {
                findings.push(format!("bucket ACL grants {perm} to {group}"));
            }
        }
    }
    findings
}

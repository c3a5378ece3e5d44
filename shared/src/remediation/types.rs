//! Resource state in domain terms: what the actuators read and write. No SDK types.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::cidr::is_open_to_world;

/// Resource tags (key → value), ordered for stable output.
pub type Tags = BTreeMap<String, String>;

/// The tag that exempts a resource from remediation (`trailwarden:exempt=true`).
pub const EXEMPT_TAG_KEY: &str = "trailwarden:exempt";

/// What a runbook acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// The Config resource type, e.g. `AWS::S3::Bucket`, `AWS::::Account`.
    pub resource_type: String,
    /// The Config resource id (bucket name, group id, trail name, account id, ...).
    pub resource_id: String,
    /// The account the resource lives in, when known (events always carry it).
    pub account_id: Option<String>,
    /// The region of the resource, when known.
    pub region: Option<String>,
}

impl Target {
    pub fn new(resource_type: impl Into<String>, resource_id: impl Into<String>) -> Self {
        Self {
            resource_type: resource_type.into(),
            resource_id: resource_id.into(),
            account_id: None,
            region: None,
        }
    }

    /// The ARN partition of the target's region (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn partition(&self) -> &'static str {
        partition_of(self.region.as_deref().unwrap_or("us-east-1"))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.resource_type, self.resource_id)
    }
}

/// The ARN partition of a region.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
}

/// S3 `PublicAccessBlockConfiguration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    pub const ALL: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };

    /// Flag by flag, the stricter of the two (never turns a block off).
    pub fn union(self, other: PublicAccessBlock) -> PublicAccessBlock {
        PublicAccessBlock {
            block_public_acls: self.block_public_acls || other.block_public_acls,
            ignore_public_acls: self.ignore_public_acls || other.ignore_public_acls,
            block_public_policy: self.block_public_policy || other.block_public_policy,
            restrict_public_buckets: self.restrict_public_buckets || other.restrict_public_buckets,
        }
    }

    /// The flags set in `self`, by name.
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.block_public_acls {
            v.push("BlockPublicAcls");
        }
        if self.ignore_public_acls {
            v.push("IgnorePublicAcls");
        }
        if self.block_public_policy {
            v.push("BlockPublicPolicy");
        }
        if self.restrict_public_buckets {
            v.push("RestrictPublicBuckets");
        }
        v
    }

    /// The flags that are on in `wanted` and off in `self`.
    pub fn missing(&self, wanted: &PublicAccessBlock) -> Vec<&'static str> {
        let have = self.names();
        wanted
            .names()
            .into_iter()
            .filter(|n| !have.contains(n))
            .collect()
    }
}

/// Default encryption of a bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "SSEAlgorithm")]
pub enum BucketEncryption {
    /// SSE-S3.
    #[serde(rename = "AES256")]
    SseS3,
    /// SSE-KMS with an optional key (None = the AWS managed key `aws/s3`).
    #[serde(rename = "aws:kms")]
    Kms {
        #[serde(rename = "KMSMasterKeyID", skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
        #[serde(rename = "BucketKeyEnabled")]
        bucket_key: bool,
    },
    /// DSSE-KMS.
    #[serde(rename = "aws:kms:dsse")]
    DsseKms {
        #[serde(rename = "KMSMasterKeyID", skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
    },
}

impl BucketEncryption {
    pub fn algorithm(&self) -> &'static str {
        match self {
            Self::SseS3 => "AES256",
            Self::Kms { .. } => "aws:kms",
            Self::DsseKms { .. } => "aws:kms:dsse",
        }
    }
    /// KMS-based (stronger than SSE-S3 in the sense the runbooks care about: never downgraded).
    pub fn is_kms(&self) -> bool {
        !matches!(self, Self::SseS3)
    }
}

/// Bucket versioning status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Versioning {
    /// Never enabled.
    Unversioned,
    Enabled,
    Suspended,
}

impl Versioning {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unversioned => "Unversioned",
            Self::Enabled => "Enabled",
            Self::Suspended => "Suspended",
        }
    }
}

/// Where a security group rule lets traffic from (ingress) or to (egress).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RulePeer {
    #[serde(rename = "CidrIpv4")]
    Ipv4(String),
    #[serde(rename = "CidrIpv6")]
    Ipv6(String),
    #[serde(rename = "ReferencedGroupId")]
    Group(String),
    #[serde(rename = "PrefixListId")]
    PrefixList(String),
}

/// One security group rule (`DescribeSecurityGroupRules`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SgRule {
    pub security_group_rule_id: String,
    pub is_egress: bool,
    /// `tcp`, `udp`, `icmp`, `-1` (all) or a protocol number.
    pub ip_protocol: String,
    /// -1 when the protocol has no ports.
    pub from_port: i32,
    pub to_port: i32,
    pub peer: RulePeer,
}

impl SgRule {
    /// Open to 0.0.0.0/0 or ::/0.
    pub fn is_world_open(&self) -> bool {
        match &self.peer {
            RulePeer::Ipv4(c) | RulePeer::Ipv6(c) => is_open_to_world(c),
            _ => false,
        }
    }

    /// Whether the rule lets `port` in over `protocol` (`tcp`/`udp`); an all-protocols rule
    /// covers every port.
    pub fn covers_port(&self, protocol: &str, port: i32) -> bool {
        let proto = self.ip_protocol.to_ascii_lowercase();
        let matches_proto = proto == "-1"
            || proto == "all"
            || proto == protocol
            || (protocol == "tcp" && proto == "6")
            || (protocol == "udp" && proto == "17");
        if !matches_proto {
            return false;
        }
        if proto == "-1" || proto == "all" || (self.from_port == -1 && self.to_port == -1) {
            return true;
        }
        self.from_port <= port && port <= self.to_port
    }

    /// Human description, e.g. `ingress tcp 22 from 0.0.0.0/0 (sgr-1)`.
    pub fn describe(&self) -> String {
        let dir = if self.is_egress { "egress" } else { "ingress" };
        let proto = if self.ip_protocol == "-1" {
            "all traffic".to_string()
        } else if self.from_port == self.to_port {
            format!("{} {}", self.ip_protocol, self.from_port)
        } else {
            format!("{} {}-{}", self.ip_protocol, self.from_port, self.to_port)
        };
        let peer = match &self.peer {
            RulePeer::Ipv4(c) | RulePeer::Ipv6(c) => c.clone(),
            RulePeer::Group(g) => format!("group {g}"),
            RulePeer::PrefixList(p) => format!("prefix list {p}"),
        };
        let prep = if self.is_egress { "to" } else { "from" };
        format!(
            "{dir} {proto} {prep} {peer} ({})",
            self.security_group_rule_id
        )
    }
}

/// A security group and its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecurityGroup {
    pub group_id: String,
    pub group_name: String,
    pub vpc_id: Option<String>,
    pub tags: Tags,
    pub rules: Vec<SgRule>,
}

impl SecurityGroup {
    pub fn ingress(&self) -> impl Iterator<Item = &SgRule> {
        self.rules.iter().filter(|r| !r.is_egress)
    }
    pub fn egress(&self) -> impl Iterator<Item = &SgRule> {
        self.rules.iter().filter(|r| r.is_egress)
    }
}

/// A CloudTrail trail's settings (`GetTrail`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Trail {
    pub name: String,
    pub trail_arn: String,
    pub home_region: Option<String>,
    pub s3_bucket_name: String,
    pub s3_key_prefix: Option<String>,
    pub log_file_validation_enabled: bool,
    pub is_multi_region_trail: bool,
    pub include_global_service_events: bool,
    pub kms_key_id: Option<String>,
}

/// `CreateTrail` inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TrailSpec {
    pub name: String,
    pub s3_bucket_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_key_prefix: Option<String>,
    pub is_multi_region_trail: bool,
    pub include_global_service_events: bool,
    pub enable_log_file_validation: bool,
}

/// `UpdateTrail` inputs: only the fields to change are set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TrailUpdate {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_bucket_name: Option<String>,
    /// `Some("")` removes the prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_key_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_multi_region_trail: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_global_service_events: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_log_file_validation: Option<bool>,
}

impl TrailUpdate {
    pub fn is_empty(&self) -> bool {
        self.s3_bucket_name.is_none()
            && self.s3_key_prefix.is_none()
            && self.is_multi_region_trail.is_none()
            && self.include_global_service_events.is_none()
            && self.enable_log_file_validation.is_none()
    }
}

/// `ReadWriteType` of an event selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReadWriteType {
    All,
    ReadOnly,
    WriteOnly,
}

/// A data resource in an event selector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataResource {
    #[serde(rename = "Type")]
    pub resource_type: String,
    pub values: Vec<String>,
}

/// A basic event selector (`PutEventSelectors`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventSelector {
    pub read_write_type: ReadWriteType,
    pub include_management_events: bool,
    #[serde(default)]
    pub data_resources: Vec<DataResource>,
    #[serde(default)]
    pub exclude_management_event_sources: Vec<String>,
}

/// The selectors of a trail.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TrailSelectors {
    pub event_selectors: Vec<EventSelector>,
    /// Whether the trail uses advanced event selectors (then basic ones are not reported).
    pub uses_advanced_selectors: bool,
}

impl TrailSelectors {
    /// Whether every management event (read and write, from every source) is logged.
    /// Advanced selectors are trusted as set (they are not analysed).
    pub fn logs_all_management_events(&self) -> bool {
        // No selectors at all: CloudTrail's default is all management events.
        if !self.uses_advanced_selectors && self.event_selectors.is_empty() {
            return true;
        }
        self.uses_advanced_selectors
            || self.event_selectors.iter().any(|s| {
                s.include_management_events
                    && s.read_write_type == ReadWriteType::All
                    && s.exclude_management_event_sources.is_empty()
            })
    }
}

/// An RDS DB instance, as found by identifier or resource id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DbInstance {
    pub db_instance_identifier: String,
    pub db_instance_arn: String,
    pub dbi_resource_id: Option<String>,
    pub tags: Tags,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(proto: &str, from: i32, to: i32, cidr: &str) -> SgRule {
        SgRule {
            security_group_rule_id: "sgr-1".into(),
            is_egress: false,
            ip_protocol: proto.into(),
            from_port: from,
            to_port: to,
            peer: if cidr.contains(':') {
                RulePeer::Ipv6(cidr.into())
            } else {
                RulePeer::Ipv4(cidr.into())
            },
        }
    }

    #[test]
    fn sg_rule_ports_and_world() {
        assert!(rule("tcp", 22, 22, "0.0.0.0/0").covers_port("tcp", 22));
        assert!(rule("tcp", 0, 65535, "0.0.0.0/0").covers_port("tcp", 3389));
        assert!(rule("-1", -1, -1, "::/0").covers_port("tcp", 22));
        assert!(rule("6", 20, 30, "::/0").covers_port("tcp", 22));
        assert!(!rule("udp", 22, 22, "0.0.0.0/0").covers_port("tcp", 22));
        assert!(!rule("tcp", 80, 443, "0.0.0.0/0").covers_port("tcp", 22));
        assert!(rule("tcp", 22, 22, "::/0").is_world_open());
        assert!(!rule("tcp", 22, 22, "10.0.0.0/8").is_world_open());
        assert_eq!(
            rule("tcp", 22, 22, "0.0.0.0/0").describe(),
            "ingress tcp 22 from 0.0.0.0/0 (sgr-1)"
        );
    }

    #[test]
    fn public_access_block_union_never_turns_off() {
        let cur = PublicAccessBlock {
            block_public_acls: true,
            ..Default::default()
        };
        let want = PublicAccessBlock {
            block_public_policy: true,
            ..Default::default()
        };
        let u = cur.union(want);
        assert!(u.block_public_acls && u.block_public_policy);
        assert!(!u.ignore_public_acls);
        assert_eq!(cur.missing(&PublicAccessBlock::ALL).len(), 3);
    }

    #[test]
    fn selectors_management_coverage() {
        let mut s = TrailSelectors::default();
        assert!(s.logs_all_management_events());
        s.event_selectors.push(EventSelector {
            read_write_type: ReadWriteType::ReadOnly,
            include_management_events: false,
            data_resources: vec![],
            exclude_management_event_sources: vec![],
        });
        assert!(!s.logs_all_management_events());
    }

    #[test]
    fn partitions() {
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of("eu-west-1"), "aws");
    }
}

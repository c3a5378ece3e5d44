//! `required-tags` (`REQUIRED_TAGS`).
//!
//! NON_COMPLIANT when a required key (`tag1Key`..`tag6Key`, `tag1Key` defaulting to
//! `CostCenter`) is missing, or when `tagNValue` (comma-separated allowed values) is set and the
//! tag's value is not one of them. Keys and values are compared case-sensitively, as AWS tags
//! are. A `tagNValue` without its `tagNKey` is an invalid parameter.

use crate::config::{ConfigurationItem, Outcome, ParamError, ParamKind, ParamSpec, Params};

use super::{Rule, Trigger};

/// The rule.
pub struct RequiredTags;

const fn key(name: &'static str) -> ParamSpec {
    ParamSpec::optional(name, ParamKind::String, "A required tag key.")
}
const fn val(name: &'static str) -> ParamSpec {
    ParamSpec::optional(
        name,
        ParamKind::Csv,
        "Allowed values of the matching tag key (comma-separated).",
    )
}

const PARAMS: &[ParamSpec] = &[
    ParamSpec::with_default("tag1Key", ParamKind::String, "CostCenter", "A required tag key."),
    val("tag1Value"),
    key("tag2Key"),
    val("tag2Value"),
    key("tag3Key"),
    val("tag3Value"),
    key("tag4Key"),
    val("tag4Value"),
    key("tag5Key"),
    val("tag5Value"),
    key("tag6Key"),
    val("tag6Value"),
];

const KEYS: [(&str, &str); 6] = [
    ("tag1Key", "tag1Value"),
    ("tag2Key", "tag2Value"),
    ("tag3Key", "tag3Value"),
    ("tag4Key", "tag4Value"),
    ("tag5Key", "tag5Value"),
    ("tag6Key", "tag6Value"),
];

impl Rule for RequiredTags {
    fn name(&self) -> &'static str {
        "required-tags"
    }
    fn identifier(&self) -> &'static str {
        "REQUIRED_TAGS"
    }
    fn description(&self) -> &'static str {
        "Resources carry the required tag keys, with one of the allowed values where values are given."
    }
    fn resource_types(&self) -> &'static [&'static str] {
        &[
            "AWS::ACM::Certificate",
            "AWS::AutoScaling::AutoScalingGroup",
            "AWS::CloudFormation::Stack",
            "AWS::CodeBuild::Project",
            "AWS::DynamoDB::Table",
            "AWS::EC2::CustomerGateway",
            "AWS::EC2::Instance",
            "AWS::EC2::InternetGateway",
            "AWS::EC2::NetworkAcl",
            "AWS::EC2::NetworkInterface",
            "AWS::EC2::RouteTable",
            "AWS::EC2::SecurityGroup",
            "AWS::EC2::Subnet",
            "AWS::EC2::Volume",
            "AWS::EC2::VPC",
            "AWS::EC2::VPNConnection",
            "AWS::EC2::VPNGateway",
            "AWS::ElasticLoadBalancing::LoadBalancer",
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "AWS::RDS::DBInstance",
            "AWS::RDS::DBSecurityGroup",
            "AWS::RDS::DBSnapshot",
            "AWS::RDS::DBSubnetGroup",
            "AWS::RDS::EventSubscription",
            "AWS::Redshift::Cluster",
            "AWS::Redshift::ClusterParameterGroup",
            "AWS::Redshift::ClusterSecurityGroup",
            "AWS::Redshift::ClusterSnapshot",
            "AWS::Redshift::ClusterSubnetGroup",
            "AWS::S3::Bucket",
        ]
    }
    fn trigger(&self) -> Trigger {
        Trigger::ConfigurationChange
    }
    fn parameters(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn validate(&self, params: &Params) -> Result<(), ParamError> {
        for (k, v) in KEYS {
            if params.is_set(v) && !params.is_set(k) {
                return Err(ParamError::new(v, format!("is set but {k} is not")));
            }
            if let Some(key) = params.str(k) {
                if key.chars().count() > 128 {
                    return Err(ParamError::new(k, "a tag key has at most 128 characters"));
                }
            }
        }
        Ok(())
    }
    fn evaluate(&self, item: &ConfigurationItem, params: &Params) -> Outcome {
        let mut problems = Vec::new();
        for (k, v) in KEYS {
            let Some(key) = params.str(k) else { continue };
            let allowed = params.list(v);
            match item.tags.get(key) {
                None => problems.push(format!("missing tag '{key}'")),
                Some(actual) if !allowed.is_empty() && !allowed.iter().any(|a| a == actual) => {
                    problems.push(format!(
                        "tag '{key}' is '{actual}', allowed: {}",
                        allowed.join(", ")
                    ))
                }
                Some(_) => {}
            }
        }
        Outcome::from_problems(problems)
    }
}

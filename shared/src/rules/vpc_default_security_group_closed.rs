//! `vpc-default-security-group-closed` (`VPC_DEFAULT_SECURITY_GROUP_CLOSED`).
//!
//! Groups not named `default` are NOT_APPLICABLE; a `default` group with any ingress or egress
//! rule is NON_COMPLIANT. Choice: EC2-Classic default groups (no `vpcId`) are evaluated the same.

use crate::config::{value, ConfigurationItem, Outcome, Params};

use super::sg_common::{egress, ingress};
use super::{Rule, Trigger};

/// The rule.
pub struct VpcDefaultSecurityGroupClosed;

impl Rule for VpcDefaultSecurityGroupClosed {
    fn name(&self) -> &'static str {
        "vpc-default-security-group-closed"
    }
    fn identifier(&self) -> &'static str {
        "VPC_DEFAULT_SECURITY_GROUP_CLOSED"
    }
    fn description(&self) -> &'static str {
        "Default security groups have no inbound or outbound rules."
    }
    fn resource_types(&self) -> &'static [&'static str] {
        &["AWS::EC2::SecurityGroup"]
    }
    fn trigger(&self) -> Trigger {
        Trigger::ConfigurationChange
    }
    fn evaluate(&self, item: &ConfigurationItem, _params: &Params) -> Outcome {
        let name = value::string(&item.configuration, &["groupName"])
            .or_else(|| item.resource_name.clone())
            .unwrap_or_default();
        if name != "default" {
            return Outcome::not_applicable(format!("{name} is not a default security group"));
        }
        let (i, e) = (ingress(item), egress(item));
        if i.is_empty() && e.is_empty() {
            return Outcome::compliant();
        }
        let list = |perms: &[super::sg_common::Permission]| {
            perms.iter().map(|p| p.describe()).collect::<Vec<_>>().join(", ")
        };
        let mut problems = Vec::new();
        if !i.is_empty() {
            problems.push(format!("{} inbound rule(s): {}", i.len(), list(&i)));
        }
        if !e.is_empty() {
            problems.push(format!("{} outbound rule(s): {}", e.len(), list(&e)));
        }
        Outcome::non_compliant(format!(
            "the default security group has {}: remove them",
            problems.join(" and ")
        ))
    }
}

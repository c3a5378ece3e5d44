//! `AWSConfigRemediation-RemoveUnrestrictedSourceIngressRules`: revokes every ingress rule
//! whose source is 0.0.0.0/0 or ::/0, whatever the port. Rules from other sources are kept.

use async_trait::async_trait;

use super::{
    failed, passed, req, ParamKind, Plan, Runbook, RunbookError, RunbookInfo, RunbookParam,
    RunbookParams,
};
use crate::remediation::{
    ActError, Action, Cloud, SecurityGroup, SgRule, Target, VerificationResult,
};

pub struct RemoveUnrestrictedSourceIngressRules;

static INFO: RunbookInfo = RunbookInfo {
    name: "AWSConfigRemediation-RemoveUnrestrictedSourceIngressRules",
    description: "Revokes every ingress rule open to 0.0.0.0/0 or ::/0.",
    resource_types: &["AWS::EC2::SecurityGroup"],
    resource_param: Some("SecurityGroupId"),
    parameters: &[RunbookParam::required(
        "SecurityGroupId",
        ParamKind::String,
        "The security group id (sg-...).",
    )],
    read_api: "ec2:DescribeSecurityGroupRules",
    cause_events: &[
        "AuthorizeSecurityGroupIngress",
        "ModifySecurityGroupRules",
        "CreateSecurityGroup",
    ],
};

fn open(g: &SecurityGroup) -> Vec<SgRule> {
    g.ingress().filter(|r| r.is_world_open()).cloned().collect()
}

/// The pure plan.
pub fn plan_for(g: &SecurityGroup) -> Plan {
    let bad = open(g);
    if bad.is_empty() {
        return Plan::nothing(format!(
            "{} ({}) has no ingress rule open to the internet",
            g.group_id, g.group_name
        ));
    }
    Plan::steps(
        format!(
            "{} ({}) has ingress open to the internet: {}",
            g.group_id,
            g.group_name,
            bad.iter()
                .map(SgRule::describe)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        vec![Action::Ec2RevokeSecurityGroupIngress {
            group_id: g.group_id.clone(),
            rules: bad,
        }],
    )
}

#[async_trait]
impl Runbook for RemoveUnrestrictedSourceIngressRules {
    fn info(&self) -> &'static RunbookInfo {
        &INFO
    }
    async fn plan(
        &self,
        cloud: &Cloud,
        _t: &Target,
        p: &RunbookParams,
    ) -> Result<Plan, RunbookError> {
        let id = req(&INFO, p, "SecurityGroupId")?;
        Ok(plan_for(&cloud.ec2.describe_security_group(id).await?))
    }
    async fn verify(
        &self,
        cloud: &Cloud,
        _t: &Target,
        p: &RunbookParams,
    ) -> Result<VerificationResult, ActError> {
        let g = cloud
            .ec2
            .describe_security_group(p.str("SecurityGroupId").unwrap_or_default())
            .await?;
        let bad = open(&g);
        Ok(if bad.is_empty() {
            passed(format!(
                "{}: no ingress rule open to 0.0.0.0/0 or ::/0",
                g.group_id
            ))
        } else {
            failed(format!(
                "still open: {}",
                bad.iter()
                    .map(SgRule::describe)
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::remediation::{FakeCloud, Outcome, RulePeer};
    use crate::runbooks::sg_public_ssh_rdp::tests::{group, rule};
    use crate::runbooks::testing::*;

    #[tokio::test]
    async fn revokes_every_world_open_ingress() {
        let fake = Arc::new(FakeCloud::new());
        fake.add_group(group(
            "sg-3",
            "app",
            vec![
                rule(
                    "sgr-a",
                    false,
                    "tcp",
                    443,
                    443,
                    RulePeer::Ipv4("0.0.0.0/0".into()),
                ),
                rule("sgr-b", false, "udp", 53, 53, RulePeer::Ipv6("::/0".into())),
                rule(
                    "sgr-c",
                    false,
                    "tcp",
                    443,
                    443,
                    RulePeer::Group("sg-lb".into()),
                ),
                rule(
                    "sgr-d",
                    false,
                    "tcp",
                    443,
                    443,
                    RulePeer::PrefixList("pl-1".into()),
                ),
                rule(
                    "sgr-e",
                    true,
                    "-1",
                    -1,
                    -1,
                    RulePeer::Ipv4("0.0.0.0/0".into()),
                ),
            ],
        ));
        let rb = &RemoveUnrestrictedSourceIngressRules;
        let t = target("AWS::EC2::SecurityGroup", "sg-3");
        let rec = run_twice(&fake, rb, &t, &params(rb, &t, json!({}))).await;
        assert_eq!(rec.outcome, Outcome::Remediated);
        let left: Vec<String> = fake
            .group("sg-3")
            .unwrap()
            .rules
            .into_iter()
            .map(|r| r.security_group_rule_id)
            .collect();
        assert_eq!(
            left,
            vec!["sgr-c", "sgr-d", "sgr-e"],
            "egress and other sources kept"
        );
    }
}

//! `AWS-DisablePublicAccessForSecurityGroup`: revokes the ingress rules that open SSH (tcp 22)
//! or RDP (tcp/udp 3389) to the internet (0.0.0.0/0 or ::/0). A wider world-open rule that
//! includes those ports (a port range, all traffic) is revoked too: it opens them just the
//! same. Rules from other sources are kept.

use async_trait::async_trait;

use super::{
    failed, passed, req, ParamKind, Plan, Runbook, RunbookError, RunbookInfo, RunbookParam,
    RunbookParams,
};
use crate::remediation::{
    ActError, Action, Cloud, SecurityGroup, SgRule, Target, VerificationResult,
};

pub struct DisablePublicAccessForSecurityGroup;

static INFO: RunbookInfo = RunbookInfo {
    name: "AWS-DisablePublicAccessForSecurityGroup",
    description: "Revokes ingress rules that open SSH (22) or RDP (3389) to 0.0.0.0/0 or ::/0.",
    resource_types: &["AWS::EC2::SecurityGroup"],
    resource_param: Some("GroupId"),
    parameters: &[RunbookParam::required(
        "GroupId",
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

/// World-open ingress rules reaching SSH or RDP.
pub fn offending(g: &SecurityGroup) -> Vec<SgRule> {
    g.ingress()
        .filter(|r| r.is_world_open())
        .filter(|r| {
            r.covers_port("tcp", 22) || r.covers_port("tcp", 3389) || r.covers_port("udp", 3389)
        })
        .cloned()
        .collect()
}

/// The pure plan.
pub fn plan_for(g: &SecurityGroup) -> Plan {
    let bad = offending(g);
    if bad.is_empty() {
        return Plan::nothing(format!(
            "{} ({}) has {} ingress rule(s), none opening SSH or RDP to the internet",
            g.group_id,
            g.group_name,
            g.ingress().count()
        ));
    }
    Plan::steps(
        format!(
            "{} ({}) opens SSH/RDP to the internet: {}",
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
impl Runbook for DisablePublicAccessForSecurityGroup {
    fn info(&self) -> &'static RunbookInfo {
        &INFO
    }
    async fn plan(
        &self,
        cloud: &Cloud,
        _t: &Target,
        p: &RunbookParams,
    ) -> Result<Plan, RunbookError> {
        let id = req(&INFO, p, "GroupId")?;
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
            .describe_security_group(p.str("GroupId").unwrap_or_default())
            .await?;
        let bad = offending(&g);
        Ok(if bad.is_empty() {
            passed(format!(
                "{}: no ingress rule opens SSH or RDP to the internet",
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
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::remediation::{run_runbook, ActErrorKind, FakeCloud, Outcome, RulePeer, Tags};
    use crate::runbooks::testing::*;

    pub fn rule(id: &str, egress: bool, proto: &str, from: i32, to: i32, peer: RulePeer) -> SgRule {
        SgRule {
            security_group_rule_id: id.into(),
            is_egress: egress,
            ip_protocol: proto.into(),
            from_port: from,
            to_port: to,
            peer,
        }
    }

    pub fn group(id: &str, name: &str, rules: Vec<SgRule>) -> SecurityGroup {
        SecurityGroup {
            group_id: id.into(),
            group_name: name.into(),
            vpc_id: Some("vpc-1".into()),
            tags: Tags::new(),
            rules,
        }
    }

    fn v4(c: &str) -> RulePeer {
        RulePeer::Ipv4(c.into())
    }

    #[tokio::test]
    async fn revokes_only_public_ssh_rdp() {
        let fake = Arc::new(FakeCloud::new());
        fake.add_group(group(
            "sg-1",
            "web",
            vec![
                rule("sgr-ssh", false, "tcp", 22, 22, v4("0.0.0.0/0")),
                rule(
                    "sgr-rdp6",
                    false,
                    "tcp",
                    3389,
                    3389,
                    RulePeer::Ipv6("::/0".into()),
                ),
                rule("sgr-range", false, "tcp", 0, 1024, v4("0.0.0.0/0")),
                rule("sgr-office", false, "tcp", 22, 22, v4("203.0.113.0/24")),
                rule("sgr-https", false, "tcp", 443, 443, v4("0.0.0.0/0")),
                rule("sgr-out", true, "-1", -1, -1, v4("0.0.0.0/0")),
            ],
        ));
        let rb = &DisablePublicAccessForSecurityGroup;
        let t = target("AWS::EC2::SecurityGroup", "sg-1");
        let rec = run_twice(&fake, rb, &t, &params(rb, &t, json!({}))).await;
        assert_eq!(rec.outcome, Outcome::Remediated, "{rec:#?}");
        let left: Vec<String> = fake
            .group("sg-1")
            .unwrap()
            .rules
            .into_iter()
            .map(|r| r.security_group_rule_id)
            .collect();
        assert_eq!(left, vec!["sgr-office", "sgr-https", "sgr-out"]);
        assert_eq!(
            rec.step_executions[1].inputs["SecurityGroupRuleIds"],
            json!(["sgr-ssh", "sgr-rdp6", "sgr-range"])
        );
    }

    #[tokio::test]
    async fn a_rule_already_gone_is_not_a_failure() {
        let fake = Arc::new(FakeCloud::new());
        fake.add_group(group(
            "sg-2",
            "web",
            vec![rule("sgr-ssh", false, "tcp", 22, 22, v4("0.0.0.0/0"))],
        ));
        let rb = &DisablePublicAccessForSecurityGroup;
        let t = target("AWS::EC2::SecurityGroup", "sg-2");
        let p = params(rb, &t, json!({}));
        // Plan, then someone else removes the rule before the call: AWS answers
        // InvalidSecurityGroupRuleId.NotFound for the batch.
        let c = cloud(&fake);
        let plan = rb.plan(&c, &t, &p).await.unwrap();
        fake.add_group(group("sg-2", "web", vec![]));
        let note = plan.steps[0].execute(&c).await.unwrap();
        assert_eq!(note.as_deref(), Some("already absent: sgr-ssh"));
        // A missing group is a failure.
        fake.fail(
            "ec2:DescribeSecurityGroups",
            ActErrorKind::NotFound,
            "InvalidGroup.NotFound",
            None,
        );
        let rec = run_runbook(&c, rb, &t, &p, false).await;
        assert_eq!(rec.outcome, Outcome::Failed);
    }

    use serde_json::json;
}

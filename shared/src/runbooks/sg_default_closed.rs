//! `AWSConfigRemediation-RemoveVPCDefaultSecurityGroupRules`: revokes every ingress and egress
//! rule of a VPC's default security group (which cannot be deleted, only emptied). Refuses a
//! group that is not named `default`.

use async_trait::async_trait;

use super::{
    failed, passed, req, ParamKind, Plan, Runbook, RunbookError, RunbookInfo, RunbookParam,
    RunbookParams,
};
use crate::remediation::{
    ActError, Action, Cloud, SecurityGroup, SgRule, Target, VerificationResult,
};

pub struct RemoveVpcDefaultSecurityGroupRules;

static INFO: RunbookInfo = RunbookInfo {
    name: "AWSConfigRemediation-RemoveVPCDefaultSecurityGroupRules",
    description: "Revokes every ingress and egress rule of a VPC's default security group.",
    resource_types: &["AWS::EC2::SecurityGroup"],
    resource_param: Some("GroupId"),
    parameters: &[RunbookParam::required(
        "GroupId",
        ParamKind::String,
        "The default security group's id (sg-...).",
    )],
    read_api: "ec2:DescribeSecurityGroupRules",
    cause_events: &[
        "AuthorizeSecurityGroupIngress",
        "AuthorizeSecurityGroupEgress",
        "ModifySecurityGroupRules",
        "CreateVpc",
        "CreateDefaultVpc",
    ],
};

/// The pure plan.
pub fn plan_for(g: &SecurityGroup) -> Result<Plan, RunbookError> {
    if g.group_name != "default" {
        return Err(RunbookError::Refused(format!(
            "{} is named {:?}, not \"default\": this runbook only empties a VPC's default security group",
            g.group_id, g.group_name
        )));
    }
    let ingress: Vec<SgRule> = g.ingress().cloned().collect();
    let egress: Vec<SgRule> = g.egress().cloned().collect();
    let desc = format!(
        "default group {} has {} ingress and {} egress rule(s)",
        g.group_id,
        ingress.len(),
        egress.len()
    );
    let mut steps = Vec::new();
    if !ingress.is_empty() {
        steps.push(Action::Ec2RevokeSecurityGroupIngress {
            group_id: g.group_id.clone(),
            rules: ingress,
        });
    }
    if !egress.is_empty() {
        steps.push(Action::Ec2RevokeSecurityGroupEgress {
            group_id: g.group_id.clone(),
            rules: egress,
        });
    }
    Ok(Plan::steps(desc, steps))
}

#[async_trait]
impl Runbook for RemoveVpcDefaultSecurityGroupRules {
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
        plan_for(&cloud.ec2.describe_security_group(id).await?)
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
        Ok(if g.rules.is_empty() {
            passed(format!("{}: no ingress or egress rules", g.group_id))
        } else {
            failed(format!(
                "rules left: {}",
                g.rules
                    .iter()
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
    use crate::remediation::{run_runbook, FakeCloud, Outcome, RulePeer};
    use crate::runbooks::sg_public_ssh_rdp::tests::{group, rule};
    use crate::runbooks::testing::*;

    #[tokio::test]
    async fn empties_the_default_group() {
        let fake = Arc::new(FakeCloud::new());
        fake.add_group(group(
            "sg-d",
            "default",
            vec![
                rule(
                    "sgr-self",
                    false,
                    "-1",
                    -1,
                    -1,
                    RulePeer::Group("sg-d".into()),
                ),
                rule(
                    "sgr-out",
                    true,
                    "-1",
                    -1,
                    -1,
                    RulePeer::Ipv4("0.0.0.0/0".into()),
                ),
            ],
        ));
        let rb = &RemoveVpcDefaultSecurityGroupRules;
        let t = target("AWS::EC2::SecurityGroup", "sg-d");
        let rec = run_twice(&fake, rb, &t, &params(rb, &t, json!({}))).await;
        assert_eq!(rec.outcome, Outcome::Remediated);
        assert_eq!(
            rec.step_executions.len(),
            4,
            "read, ingress, egress, verify"
        );
        assert!(fake.group("sg-d").unwrap().rules.is_empty());
    }

    #[tokio::test]
    async fn refuses_a_non_default_group() {
        let fake = Arc::new(FakeCloud::new());
        fake.add_group(group(
            "sg-x",
            "web",
            vec![rule(
                "r",
                false,
                "tcp",
                22,
                22,
                RulePeer::Ipv4("0.0.0.0/0".into()),
            )],
        ));
        let rb = &RemoveVpcDefaultSecurityGroupRules;
        let t = target("AWS::EC2::SecurityGroup", "sg-x");
        let rec = run_runbook(&cloud(&fake), rb, &t, &params(rb, &t, json!({})), false).await;
        assert_eq!(rec.outcome, Outcome::Failed);
        assert!(rec.failure_message.unwrap().contains("not \"default\""));
        assert!(fake.writes().is_empty());
    }
}

//! [`Ec2Actuator`] on Amazon EC2: security groups (rules by id), EBS encryption by default,
//! tags.

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, Tag};
use aws_sdk_ec2::Client;

use super::act::act_err;
use crate::remediation::{
    ActError, ActErrorKind, ActResult, Ec2Actuator, RulePeer, SecurityGroup, SgRule, Tags,
};

/// EC2 through the SDK.
#[derive(Clone)]
pub struct Ec2Resources {
    client: Client,
}

impl Ec2Resources {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Ec2Actuator for Ec2Resources {
    async fn describe_security_group(&self, group_id: &str) -> ActResult<SecurityGroup> {
        let api = "ec2:DescribeSecurityGroups";
        let out = self
            .client
            .describe_security_groups()
            .group_ids(group_id)
            .send()
            .await
            .map_err(|e| act_err!(api, e))?;
        let g = out
            .security_groups()
            .iter()
            .find(|g| g.group_id() == Some(group_id))
            .ok_or_else(|| {
                ActError::new(
                    api,
                    ActErrorKind::NotFound,
                    "InvalidGroup.NotFound",
                    format!("The security group '{group_id}' does not exist"),
                )
            })?;
        let tags: Tags = g
            .tags()
            .iter()
            .filter_map(|t| {
                Some((
                    t.key()?.to_string(),
                    t.value().unwrap_or_default().to_string(),
                ))
            })
            .collect();
        let mut rules = Vec::new();
        let mut pages = self
            .client
            .describe_security_group_rules()
            .filters(Filter::builder().name("group-id").values(group_id).build())
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| act_err!("ec2:DescribeSecurityGroupRules", e))?;
            for r in page.security_group_rules() {
                if r.group_id().is_some_and(|g| g != group_id) {
                    continue;
                }
                let Some(id) = r.security_group_rule_id() else {
                    continue;
                };
                let peer = if let Some(c) = r.cidr_ipv4() {
                    RulePeer::Ipv4(c.into())
                } else if let Some(c) = r.cidr_ipv6() {
                    RulePeer::Ipv6(c.into())
                } else if let Some(p) = r.prefix_list_id() {
                    RulePeer::PrefixList(p.into())
                } else if let Some(g) = r.referenced_group_info().and_then(|g| g.group_id()) {
                    RulePeer::Group(g.into())
                } else {
                    continue;
                };
                rules.push(SgRule {
                    security_group_rule_id: id.into(),
                    is_egress: r.is_egress().unwrap_or(false),
                    ip_protocol: r.ip_protocol().unwrap_or("-1").into(),
                    from_port: r.from_port().unwrap_or(-1),
                    to_port: r.to_port().unwrap_or(-1),
                    peer,
                });
            }
        }
        Ok(SecurityGroup {
            group_id: group_id.into(),
            group_name: g.group_name().unwrap_or_default().into(),
            vpc_id: g.vpc_id().map(str::to_string),
            tags,
            rules,
        })
    }

    async fn revoke_ingress(&self, group_id: &str, rule_ids: &[String]) -> ActResult<()> {
        self.client
            .revoke_security_group_ingress()
            .group_id(group_id)
            .set_security_group_rule_ids(Some(rule_ids.to_vec()))
            .send()
            .await
            .map_err(|e| act_err!("ec2:RevokeSecurityGroupIngress", e))?;
        Ok(())
    }

    async fn revoke_egress(&self, group_id: &str, rule_ids: &[String]) -> ActResult<()> {
        self.client
            .revoke_security_group_egress()
            .group_id(group_id)
            .set_security_group_rule_ids(Some(rule_ids.to_vec()))
            .send()
            .await
            .map_err(|e| act_err!("ec2:RevokeSecurityGroupEgress", e))?;
        Ok(())
    }

    async fn get_ebs_encryption_by_default(&self) -> ActResult<bool> {
        let out = self
            .client
            .get_ebs_encryption_by_default()
            .send()
            .await
            .map_err(|e| act_err!("ec2:GetEbsEncryptionByDefault", e))?;
        Ok(out.ebs_encryption_by_default().unwrap_or(false))
    }

    async fn enable_ebs_encryption_by_default(&self) -> ActResult<()> {
        self.client
            .enable_ebs_encryption_by_default()
            .send()
            .await
            .map_err(|e| act_err!("ec2:EnableEbsEncryptionByDefault", e))?;
        Ok(())
    }

    async fn get_tags(&self, resource_id: &str) -> ActResult<Tags> {
        let mut tags = Tags::new();
        let mut pages = self
            .client
            .describe_tags()
            .filters(
                Filter::builder()
                    .name("resource-id")
                    .values(resource_id)
                    .build(),
            )
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| act_err!("ec2:DescribeTags", e))?;
            for t in page.tags() {
                if let Some(k) = t.key() {
                    tags.insert(k.into(), t.value().unwrap_or_default().into());
                }
            }
        }
        Ok(tags)
    }

    async fn create_tags(&self, resource_id: &str, tags: &Tags) -> ActResult<()> {
        let list: Vec<Tag> = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        self.client
            .create_tags()
            .resources(resource_id)
            .set_tags(Some(list))
            .send()
            .await
            .map_err(|e| act_err!("ec2:CreateTags", e))?;
        Ok(())
    }
}

//! The AWS calls a runbook makes: each [`Action`] is one exact API call with its parameters, as
//! dry-run prints it and as the execution record reports it.

use serde_json::{json, Value};

use super::actuator::{ActErrorKind, ActResult, Cloud};
use super::types::{
    BucketEncryption, EventSelector, PublicAccessBlock, SgRule, Tags, TrailSpec, TrailUpdate,
    Versioning,
};

/// One AWS API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    S3PutPublicAccessBlock {
        bucket: String,
        config: PublicAccessBlock,
    },
    S3PutBucketEncryption {
        bucket: String,
        encryption: BucketEncryption,
    },
    S3PutBucketVersioning {
        bucket: String,
        status: Versioning,
    },
    S3PutBucketPolicy {
        bucket: String,
        policy: String,
    },
    S3PutBucketTagging {
        bucket: String,
        tags: Tags,
    },
    Ec2RevokeSecurityGroupIngress {
        group_id: String,
        rules: Vec<SgRule>,
    },
    Ec2RevokeSecurityGroupEgress {
        group_id: String,
        rules: Vec<SgRule>,
    },
    Ec2EnableEbsEncryptionByDefault,
    Ec2CreateTags {
        resource_id: String,
        tags: Tags,
    },
    CloudTrailCreateTrail {
        spec: TrailSpec,
    },
    CloudTrailUpdateTrail {
        update: TrailUpdate,
    },
    CloudTrailStartLogging {
        name: String,
    },
    CloudTrailPutEventSelectors {
        name: String,
        selectors: Vec<EventSelector>,
    },
    RdsAddTagsToResource {
        arn: String,
        tags: Tags,
    },
}

fn tag_list(tags: &Tags) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect(),
    )
}

impl Action {
    /// `service:Operation`.
    pub fn api(&self) -> &'static str {
        match self {
            Self::S3PutPublicAccessBlock { .. } => "s3:PutPublicAccessBlock",
            Self::S3PutBucketEncryption { .. } => "s3:PutBucketEncryption",
            Self::S3PutBucketVersioning { .. } => "s3:PutBucketVersioning",
            Self::S3PutBucketPolicy { .. } => "s3:PutBucketPolicy",
            Self::S3PutBucketTagging { .. } => "s3:PutBucketTagging",
            Self::Ec2RevokeSecurityGroupIngress { .. } => "ec2:RevokeSecurityGroupIngress",
            Self::Ec2RevokeSecurityGroupEgress { .. } => "ec2:RevokeSecurityGroupEgress",
            Self::Ec2EnableEbsEncryptionByDefault => "ec2:EnableEbsEncryptionByDefault",
            Self::Ec2CreateTags { .. } => "ec2:CreateTags",
            Self::CloudTrailCreateTrail { .. } => "cloudtrail:CreateTrail",
            Self::CloudTrailUpdateTrail { .. } => "cloudtrail:UpdateTrail",
            Self::CloudTrailStartLogging { .. } => "cloudtrail:StartLogging",
            Self::CloudTrailPutEventSelectors { .. } => "cloudtrail:PutEventSelectors",
            Self::RdsAddTagsToResource { .. } => "rds:AddTagsToResource",
        }
    }

    /// The operation name (the step name in the execution record).
    pub fn operation(&self) -> &'static str {
        self.api().split_once(':').map(|(_, op)| op).unwrap_or("")
    }

    /// The exact request parameters, named as in the AWS API.
    pub fn inputs(&self) -> Value {
        match self {
            Self::S3PutPublicAccessBlock { bucket, config } => {
                json!({"Bucket": bucket, "PublicAccessBlockConfiguration": config})
            }
            Self::S3PutBucketEncryption { bucket, encryption } => {
                let mut default = json!({"SSEAlgorithm": encryption.algorithm()});
                let bucket_key = match encryption {
                    BucketEncryption::SseS3 => None,
                    BucketEncryption::Kms { key_id, bucket_key } => {
                        if let Some(k) = key_id {
                            default["KMSMasterKeyID"] = json!(k);
                        }
                        Some(*bucket_key)
                    }
                    BucketEncryption::DsseKms { key_id } => {
                        if let Some(k) = key_id {
                            default["KMSMasterKeyID"] = json!(k);
                        }
                        None
                    }
                };
                let mut rule = json!({"ApplyServerSideEncryptionByDefault": default});
                if let Some(b) = bucket_key {
                    rule["BucketKeyEnabled"] = json!(b);
                }
                json!({"Bucket": bucket, "ServerSideEncryptionConfiguration": {"Rules": [rule]}})
            }
            Self::S3PutBucketVersioning { bucket, status } => {
                json!({"Bucket": bucket, "VersioningConfiguration": {"Status": status.as_str()}})
            }
            Self::S3PutBucketPolicy { bucket, policy } => {
                json!({"Bucket": bucket, "Policy": policy})
            }
            Self::S3PutBucketTagging { bucket, tags } => {
                json!({"Bucket": bucket, "Tagging": {"TagSet": tag_list(tags)}})
            }
            Self::Ec2RevokeSecurityGroupIngress { group_id, rules }
            | Self::Ec2RevokeSecurityGroupEgress { group_id, rules } => json!({
                "GroupId": group_id,
                "SecurityGroupRuleIds": rules.iter().map(|r| r.security_group_rule_id.clone()).collect::<Vec<_>>(),
                "Rules": rules.iter().map(SgRule::describe).collect::<Vec<_>>(),
            }),
            Self::Ec2EnableEbsEncryptionByDefault => json!({}),
            Self::Ec2CreateTags { resource_id, tags } => {
                json!({"Resources": [resource_id], "Tags": tag_list(tags)})
            }
            Self::CloudTrailCreateTrail { spec } => json!(spec),
            Self::CloudTrailUpdateTrail { update } => json!(update),
            Self::CloudTrailStartLogging { name } => json!({"Name": name}),
            Self::CloudTrailPutEventSelectors { name, selectors } => {
                json!({"TrailName": name, "EventSelectors": selectors})
            }
            Self::RdsAddTagsToResource { arn, tags } => {
                json!({"ResourceName": arn, "Tags": tag_list(tags)})
            }
        }
    }

    /// `api` + inputs on one line, as dry-run prints it.
    pub fn render(&self) -> String {
        format!("{} {}", self.api(), self.inputs())
    }

    /// Makes the call. Returns a note for the step's outputs (e.g. rules already gone).
    pub async fn execute(&self, cloud: &Cloud) -> ActResult<Option<String>> {
        match self {
            Self::S3PutPublicAccessBlock { bucket, config } => {
                cloud.s3.put_public_access_block(bucket, config).await?
            }
            Self::S3PutBucketEncryption { bucket, encryption } => {
                cloud.s3.put_bucket_encryption(bucket, encryption).await?
            }
            Self::S3PutBucketVersioning { bucket, status } => {
                cloud.s3.put_bucket_versioning(bucket, *status).await?
            }
            Self::S3PutBucketPolicy { bucket, policy } => {
                cloud.s3.put_bucket_policy(bucket, policy).await?
            }
            Self::S3PutBucketTagging { bucket, tags } => {
                cloud.s3.put_bucket_tagging(bucket, tags).await?
            }
            Self::Ec2RevokeSecurityGroupIngress { group_id, rules } => {
                return revoke(cloud, group_id, rules, false).await;
            }
            Self::Ec2RevokeSecurityGroupEgress { group_id, rules } => {
                return revoke(cloud, group_id, rules, true).await;
            }
            Self::Ec2EnableEbsEncryptionByDefault => {
                cloud.ec2.enable_ebs_encryption_by_default().await?
            }
            Self::Ec2CreateTags { resource_id, tags } => {
                cloud.ec2.create_tags(resource_id, tags).await?
            }
            Self::CloudTrailCreateTrail { spec } => cloud.cloudtrail.create_trail(spec).await?,
            Self::CloudTrailUpdateTrail { update } => cloud.cloudtrail.update_trail(update).await?,
            Self::CloudTrailStartLogging { name } => cloud.cloudtrail.start_logging(name).await?,
            Self::CloudTrailPutEventSelectors { name, selectors } => {
                cloud
                    .cloudtrail
                    .put_event_selectors(name, selectors)
                    .await?
            }
            Self::RdsAddTagsToResource { arn, tags } => {
                cloud.rds.add_tags_to_resource(arn, tags).await?
            }
        }
        Ok(None)
    }
}

/// Revokes rules by id. When one of them is already gone (someone else removed it since the
/// plan was made: AWS then rejects the whole call), revokes the others one by one and reports
/// the missing ones instead of failing.
async fn revoke(
    cloud: &Cloud,
    group_id: &str,
    rules: &[SgRule],
    egress: bool,
) -> ActResult<Option<String>> {
    let ids: Vec<String> = rules
        .iter()
        .map(|r| r.security_group_rule_id.clone())
        .collect();
    let call = |ids: Vec<String>| async move {
        if egress {
            cloud.ec2.revoke_egress(group_id, &ids).await
        } else {
            cloud.ec2.revoke_ingress(group_id, &ids).await
        }
    };
    match call(ids.clone()).await {
        Ok(()) => Ok(None),
        Err(e) if e.kind == ActErrorKind::RuleNotFound => {
            let mut gone = Vec::new();
            for id in ids {
                match call(vec![id.clone()]).await {
                    Ok(()) => {}
                    Err(e) if e.kind == ActErrorKind::RuleNotFound => gone.push(id),
                    Err(e) => return Err(e),
                }
            }
            Ok(Some(format!("already absent: {}", gone.join(", "))))
        }
        Err(e) => Err(e),
    }
}

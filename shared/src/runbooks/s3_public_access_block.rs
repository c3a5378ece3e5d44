//! `AWSConfigRemediation-ConfigureS3BucketPublicAccessBlock`: turns on the bucket's public
//! access block flags (all four by default). A flag already on stays on even when the
//! parameters say `false`: the runbook never turns a block off.

use async_trait::async_trait;

use super::{
    failed, passed, req, ParamKind, Plan, Runbook, RunbookError, RunbookInfo, RunbookParam,
    RunbookParams,
};
use crate::remediation::{ActError, Action, Cloud, PublicAccessBlock, Target, VerificationResult};

pub struct ConfigureS3BucketPublicAccessBlock;

static INFO: RunbookInfo = RunbookInfo {
    name: "AWSConfigRemediation-ConfigureS3BucketPublicAccessBlock",
    description: "Turns on the bucket's S3 Block Public Access flags (never turns one off).",
    resource_types: &["AWS::S3::Bucket"],
    resource_param: Some("BucketName"),
    parameters: &[
        RunbookParam::required("BucketName", ParamKind::String, "The bucket."),
        RunbookParam::with_default(
            "BlockPublicAcls",
            ParamKind::Boolean,
            "true",
            "Reject new public ACLs.",
        ),
        RunbookParam::with_default(
            "IgnorePublicAcls",
            ParamKind::Boolean,
            "true",
            "Ignore existing public ACLs.",
        ),
        RunbookParam::with_default(
            "BlockPublicPolicy",
            ParamKind::Boolean,
            "true",
            "Reject public bucket policies.",
        ),
        RunbookParam::with_default(
            "RestrictPublicBuckets",
            ParamKind::Boolean,
            "true",
            "Restrict access to buckets with public policies.",
        ),
    ],
    read_api: "s3:GetPublicAccessBlock",
    cause_events: &[
        "CreateBucket",
        "DeleteBucketPublicAccessBlock",
        "PutBucketPublicAccessBlock",
        "PutPublicAccessBlock",
        "DeletePublicAccessBlock",
        "PutBucketPolicy",
        "PutBucketAcl",
    ],
};

fn requested(p: &RunbookParams) -> PublicAccessBlock {
    PublicAccessBlock {
        block_public_acls: p.bool("BlockPublicAcls"),
        ignore_public_acls: p.bool("IgnorePublicAcls"),
        block_public_policy: p.bool("BlockPublicPolicy"),
        restrict_public_buckets: p.bool("RestrictPublicBuckets"),
    }
}

/// The pure plan: the union of what is on and what is asked for.
pub fn plan_for(
    bucket: &str,
    current: Option<PublicAccessBlock>,
    wanted: PublicAccessBlock,
) -> Plan {
    let have = current.unwrap_or_default();
    let desc = match current {
        None => "no public access block configured".to_string(),
        Some(c) if c.names().is_empty() => "public access block with every flag off".to_string(),
        Some(c) => format!("public access block with {} on", c.names().join(", ")),
    };
    let target = have.union(wanted);
    if target == have && current.is_some() {
        return Plan::nothing(desc);
    }
    if target == PublicAccessBlock::default() {
        // Nothing requested and nothing configured: nothing to put.
        return Plan::nothing(desc);
    }
    Plan::steps(
        format!("{desc}; missing: {}", have.missing(&target).join(", ")),
        vec![Action::S3PutPublicAccessBlock {
            bucket: bucket.into(),
            config: target,
        }],
    )
}

#[async_trait]
impl Runbook for ConfigureS3BucketPublicAccessBlock {
    fn info(&self) -> &'static RunbookInfo {
        &INFO
    }
    async fn plan(
        &self,
        cloud: &Cloud,
        _t: &Target,
        p: &RunbookParams,
    ) -> Result<Plan, RunbookError> {
        let bucket = req(&INFO, p, "BucketName")?;
        let current = cloud.s3.get_public_access_block(bucket).await?;
        Ok(plan_for(bucket, current, requested(p)))
    }
    async fn verify(
        &self,
        cloud: &Cloud,
        _t: &Target,
        p: &RunbookParams,
    ) -> Result<VerificationResult, ActError> {
        let bucket = p.str("BucketName").unwrap_or_default();
        let got = cloud
            .s3
            .get_public_access_block(bucket)
            .await?
            .unwrap_or_default();
        let missing = got.missing(&requested(p));
        Ok(if missing.is_empty() {
            passed(format!(
                "GetPublicAccessBlock: {} on",
                got.names().join(", ")
            ))
        } else {
            failed(format!(
                "GetPublicAccessBlock: still off: {}",
                missing.join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::remediation::{run_runbook, FakeBucket, FakeCloud, Outcome};
    use crate::runbooks::testing::*;

    #[test]
    fn plan_unions_and_never_turns_off() {
        let some = PublicAccessBlock {
            block_public_acls: true,
            ..Default::default()
        };
        let p = plan_for(
            "b",
            Some(some),
            PublicAccessBlock {
                block_public_policy: true,
                ..Default::default()
            },
        );
        assert_eq!(
            p.steps,
            vec![Action::S3PutPublicAccessBlock {
                bucket: "b".into(),
                config: PublicAccessBlock {
                    block_public_acls: true,
                    block_public_policy: true,
                    ..Default::default()
                }
            }]
        );
        // Asking for false does not turn an on flag off.
        assert!(plan_for(
            "b",
            Some(PublicAccessBlock::ALL),
            PublicAccessBlock::default()
        )
        .steps
        .is_empty());
        assert!(
            plan_for("b", Some(PublicAccessBlock::ALL), PublicAccessBlock::ALL)
                .steps
                .is_empty()
        );
        assert_eq!(plan_for("b", None, PublicAccessBlock::ALL).steps.len(), 1);
    }

    #[tokio::test]
    async fn remediates_then_nothing_to_do() {
        let fake = Arc::new(FakeCloud::new());
        fake.add_bucket("b", FakeBucket::default());
        let rb = &ConfigureS3BucketPublicAccessBlock;
        let t = target("AWS::S3::Bucket", "b");
        let p = params(rb, &t, json!({}));
        let rec = run_twice(&fake, rb, &t, &p).await;
        assert_eq!(rec.outcome, Outcome::Remediated, "{rec:#?}");
        assert_eq!(
            fake.bucket("b").unwrap().public_access_block,
            Some(PublicAccessBlock::ALL)
        );
        assert!(rec.verification.unwrap().passed);
    }

    #[tokio::test]
    async fn missing_bucket_is_a_clear_failure() {
        let fake = Arc::new(FakeCloud::new());
        let rb = &ConfigureS3BucketPublicAccessBlock;
        let t = target("AWS::S3::Bucket", "gone");
        let rec = run_runbook(&cloud(&fake), rb, &t, &params(rb, &t, json!({})), false).await;
        assert_eq!(rec.outcome, Outcome::Failed);
        let msg = rec.failure_message.unwrap();
        assert!(
            msg.contains("NoSuchBucket") && msg.contains("no longer exists"),
            "{msg}"
        );
        assert!(fake.writes().is_empty());
    }
}

//! `AWS-EnableS3BucketEncryption`: sets the bucket's default encryption to SSE-S3 (`AES256`,
//! the default) or SSE-KMS (`aws:kms`, with the S3 Bucket Key on). Never downgrades: a bucket
//! already on SSE-KMS is left as it is when SSE-S3 is asked for, and an existing KMS key is
//! not replaced (that could lock readers out).

use async_trait::async_trait;

use super::{
    failed, passed, req, ParamError, ParamKind, Plan, Runbook, RunbookError, RunbookInfo,
    RunbookParam, RunbookParams,
};
use crate::remediation::{ActError, Action, BucketEncryption, Cloud, Target, VerificationResult};

pub struct EnableS3BucketEncryption;

static INFO: RunbookInfo = RunbookInfo {
    name: "AWS-EnableS3BucketEncryption",
    description:
        "Enables default encryption of the bucket: SSE-S3 (AES256) or SSE-KMS (never downgrades).",
    resource_types: &["AWS::S3::Bucket"],
    resource_param: Some("BucketName"),
    parameters: &[
        RunbookParam::required("BucketName", ParamKind::String, "The bucket."),
        RunbookParam::with_default(
            "SSEAlgorithm",
            ParamKind::String,
            "\"AES256\"",
            "AES256 (SSE-S3) or aws:kms (SSE-KMS).",
        ),
        RunbookParam::optional(
            "KMSMasterKeyID",
            ParamKind::String,
            "KMS key id or ARN for aws:kms (default: the AWS managed key aws/s3).",
        ),
        RunbookParam::with_default(
            "BucketKeyEnabled",
            ParamKind::Boolean,
            "true",
            "Use an S3 Bucket Key with SSE-KMS.",
        ),
    ],
    read_api: "s3:GetBucketEncryption",
    cause_events: &[
        "CreateBucket",
        "DeleteBucketEncryption",
        "PutBucketEncryption",
    ],
};

fn requested(p: &RunbookParams) -> BucketEncryption {
    match p.str("SSEAlgorithm") {
        Some("aws:kms") => BucketEncryption::Kms {
            key_id: p.str("KMSMasterKeyID").map(str::to_string),
            bucket_key: p.bool("BucketKeyEnabled"),
        },
        _ => BucketEncryption::SseS3,
    }
}

fn describe(e: &Option<BucketEncryption>) -> String {
    match e {
        None => "no default encryption".into(),
        Some(BucketEncryption::SseS3) => "default encryption SSE-S3 (AES256)".into(),
        Some(BucketEncryption::Kms { key_id, .. }) | Some(BucketEncryption::DsseKms { key_id }) => {
            format!(
                "default encryption {} with key {}",
                e.as_ref()
                    .map(BucketEncryption::algorithm)
                    .unwrap_or_default(),
                key_id.as_deref().unwrap_or("aws/s3")
            )
        }
    }
}

/// The pure plan.
pub fn plan_for(
    bucket: &str,
    current: &Option<BucketEncryption>,
    wanted: BucketEncryption,
) -> Plan {
    let desc = describe(current);
    let enough = match current {
        None => false,
        Some(c) => c.is_kms() || !wanted.is_kms(),
    };
    if enough {
        return Plan::nothing(desc);
    }
    Plan::steps(
        desc,
        vec![Action::S3PutBucketEncryption {
            bucket: bucket.into(),
            encryption: wanted,
        }],
    )
}

#[async_trait]
impl Runbook for EnableS3BucketEncryption {
    fn info(&self) -> &'static RunbookInfo {
        &INFO
    }
    fn validate(&self, p: &RunbookParams) -> Result<(), ParamError> {
        match p.str("SSEAlgorithm") {
            Some("AES256") | Some("aws:kms") => {}
            other => {
                return Err(ParamError::new(
                    INFO.name,
                    "SSEAlgorithm",
                    format!("{other:?} is not AES256 or aws:kms"),
                ))
            }
        }
        if p.str("KMSMasterKeyID").is_some() && p.str("SSEAlgorithm") != Some("aws:kms") {
            return Err(ParamError::new(
                INFO.name,
                "KMSMasterKeyID",
                "is only used with SSEAlgorithm aws:kms",
            ));
        }
        Ok(())
    }
    async fn plan(
        &self,
        cloud: &Cloud,
        _t: &Target,
        p: &RunbookParams,
    ) -> Result<Plan, RunbookError> {
        let bucket = req(&INFO, p, "BucketName")?;
        let current = cloud.s3.get_bucket_encryption(bucket).await?;
        Ok(plan_for(bucket, &current, requested(p)))
    }
    async fn verify(
        &self,
        cloud: &Cloud,
        _t: &Target,
        p: &RunbookParams,
    ) -> Result<VerificationResult, ActError> {
        let bucket = p.str("BucketName").unwrap_or_default();
        let got = cloud.s3.get_bucket_encryption(bucket).await?;
        let ok = match &got {
            None => false,
            Some(g) => g.is_kms() || !requested(p).is_kms(),
        };
        Ok(if ok {
            passed(format!("GetBucketEncryption: {}", describe(&got)))
        } else {
            failed(format!(
                "GetBucketEncryption: {}, expected {}",
                describe(&got),
                requested(p).algorithm()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::remediation::{FakeBucket, FakeCloud, Outcome};
    use crate::runbooks::params_for_target;
    use crate::runbooks::testing::*;

    #[test]
    fn never_downgrades() {
        let kms = BucketEncryption::Kms {
            key_id: Some("k".into()),
            bucket_key: true,
        };
        assert!(plan_for("b", &Some(kms.clone()), BucketEncryption::SseS3)
            .steps
            .is_empty());
        assert!(
            plan_for("b", &Some(BucketEncryption::SseS3), BucketEncryption::SseS3)
                .steps
                .is_empty()
        );
        assert_eq!(
            plan_for("b", &Some(BucketEncryption::SseS3), kms.clone())
                .steps
                .len(),
            1
        );
        assert!(plan_for(
            "b",
            &Some(kms.clone()),
            BucketEncryption::Kms {
                key_id: Some("other".into()),
                bucket_key: true
            }
        )
        .steps
        .is_empty());
        assert_eq!(plan_for("b", &None, BucketEncryption::SseS3).steps.len(), 1);
    }

    #[tokio::test]
    async fn sse_s3_and_kms() {
        let fake = Arc::new(FakeCloud::new());
        fake.add_bucket("b", FakeBucket::default());
        let rb = &EnableS3BucketEncryption;
        let t = target("AWS::S3::Bucket", "b");
        let rec = run_twice(&fake, rb, &t, &params(rb, &t, json!({}))).await;
        assert_eq!(rec.outcome, Outcome::Remediated);
        assert_eq!(
            fake.bucket("b").unwrap().encryption,
            Some(BucketEncryption::SseS3)
        );
        // Upgrade to KMS with a key; the inputs show the exact call.
        let p = params(
            rb,
            &t,
            json!({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/logs"}),
        );
        let rec = run_twice(&fake, rb, &t, &p).await;
        assert_eq!(rec.outcome, Outcome::Remediated);
        let step = &rec.step_executions[1];
        assert_eq!(step.api, "s3:PutBucketEncryption");
        assert_eq!(
            step.inputs["ServerSideEncryptionConfiguration"]["Rules"][0],
            json!({"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/logs"}, "BucketKeyEnabled": true})
        );
    }

    #[test]
    fn bad_parameters() {
        let rb = &EnableS3BucketEncryption;
        let t = target("AWS::S3::Bucket", "b");
        let raw = json!({"SSEAlgorithm": "DES"});
        assert!(params_for_target(rb, raw.as_object().unwrap(), &t).is_err());
        let raw = json!({"KMSMasterKeyID": "k"});
        assert!(params_for_target(rb, raw.as_object().unwrap(), &t).is_err());
    }
}

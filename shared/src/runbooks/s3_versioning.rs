//! `AWS-ConfigureS3BucketVersioning`: enables versioning. Only `Enabled` is accepted:
//! suspending versioning would weaken the bucket, which a remediation never does.

use async_trait::async_trait;

use super::{
    failed, passed, req, ParamError, ParamKind, Plan, Runbook, RunbookError, RunbookInfo,
    RunbookParam, RunbookParams,
};
use crate::remediation::{ActError, Action, Cloud, Target, VerificationResult, Versioning};

pub struct ConfigureS3BucketVersioning;

static INFO: RunbookInfo = RunbookInfo {
    name: "AWS-ConfigureS3BucketVersioning",
    description: "Enables versioning on the bucket.",
    resource_types: &["AWS::S3::Bucket"],
    resource_param: Some("BucketName"),
    parameters: &[
        RunbookParam::required("BucketName", ParamKind::String, "The bucket."),
        RunbookParam::with_default(
            "VersioningState",
            ParamKind::String,
            "\"Enabled\"",
            "Enabled (Suspended is refused: it weakens the bucket).",
        ),
    ],
    read_api: "s3:GetBucketVersioning",
    cause_events: &["CreateBucket", "PutBucketVersioning"],
};

/// The pure plan.
pub fn plan_for(bucket: &str, current: Versioning) -> Plan {
    let desc = format!("versioning {}", current.as_str());
    if current == Versioning::Enabled {
        return Plan::nothing(desc);
    }
    Plan::steps(
        desc,
        vec![Action::S3PutBucketVersioning {
            bucket: bucket.into(),
            status: Versioning::Enabled,
        }],
    )
}

#[async_trait]
impl Runbook for ConfigureS3BucketVersioning {
    fn info(&self) -> &'static RunbookInfo {
        &INFO
    }
    fn validate(&self, p: &RunbookParams) -> Result<(), ParamError> {
        match p.str("VersioningState") {
            Some("Enabled") => Ok(()),
            other => Err(ParamError::new(
                INFO.name,
                "VersioningState",
                format!("{other:?} is refused: only Enabled is accepted (a remediation never weakens a bucket)"),
            )),
        }
    }
    async fn plan(
        &self,
        cloud: &Cloud,
        _t: &Target,
        p: &RunbookParams,
    ) -> Result<Plan, RunbookError> {
        let bucket = req(&INFO, p, "BucketName")?;
        Ok(plan_for(
            bucket,
            cloud.s3.get_bucket_versioning(bucket).await?,
        ))
    }
    async fn verify(
        &self,
        cloud: &Cloud,
        _t: &Target,
        p: &RunbookParams,
    ) -> Result<VerificationResult, ActError> {
        let got = cloud
            .s3
            .get_bucket_versioning(p.str("BucketName").unwrap_or_default())
            .await?;
        Ok(if got == Versioning::Enabled {
            passed("GetBucketVersioning: Status Enabled")
        } else {
            failed(format!("GetBucketVersioning: Status {}", got.as_str()))
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

    #[tokio::test]
    async fn enables_from_suspended() {
        let fake = Arc::new(FakeCloud::new());
        fake.add_bucket(
            "b",
            FakeBucket {
                versioning: Versioning::Suspended,
                ..Default::default()
            },
        );
        let rb = &ConfigureS3BucketVersioning;
        let t = target("AWS::S3::Bucket", "b");
        let rec = run_twice(&fake, rb, &t, &params(rb, &t, json!({}))).await;
        assert_eq!(rec.outcome, Outcome::Remediated);
        assert_eq!(rec.current_state.as_deref(), Some("versioning Suspended"));
        assert_eq!(fake.bucket("b").unwrap().versioning, Versioning::Enabled);
    }

    #[test]
    fn refuses_suspended() {
        let t = target("AWS::S3::Bucket", "b");
        let raw = json!({"VersioningState": "Suspended"});
        let e = params_for_target(&ConfigureS3BucketVersioning, raw.as_object().unwrap(), &t)
            .unwrap_err();
        assert!(e.to_string().contains("never weakens"), "{e}");
    }
}

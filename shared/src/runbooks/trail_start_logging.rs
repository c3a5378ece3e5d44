//! `AWS-EnableCloudTrail`: starts logging on a trail; creates it (multi-region, global service
//! events and log file validation on) when it does not exist and a bucket is given.

use async_trait::async_trait;

use super::{
    failed, passed, req, ParamKind, Plan, Runbook, RunbookError, RunbookInfo, RunbookParam,
    RunbookParams,
};
use crate::remediation::{ActError, Action, Cloud, Target, TrailSpec, VerificationResult};

pub struct EnableCloudTrail;

static INFO: RunbookInfo = RunbookInfo {
    name: "AWS-EnableCloudTrail",
    description: "Starts logging on the trail (StartLogging), creating it first when it is missing and S3BucketName is given.",
    resource_types: &["AWS::CloudTrail::Trail", "AWS::::Account"],
    resource_param: Some("TrailName"),
    parameters: &[
        RunbookParam::required("TrailName", ParamKind::String, "The trail's name or ARN (for the account-level cloudtrail-enabled rule, set it in the rule mapping)."),
        RunbookParam::optional("S3BucketName", ParamKind::String, "Bucket for a trail that has to be created."),
        RunbookParam::optional("S3KeyPrefix", ParamKind::String, "Key prefix for a trail that has to be created."),
    ],
    read_api: "cloudtrail:GetTrailStatus",
    cause_events: &["StopLogging", "DeleteTrail"],
};

/// The pure plan. `current`: None = no such trail, Some(is_logging).
pub fn plan_for(
    name: &str,
    current: Option<bool>,
    bucket: Option<&str>,
    prefix: Option<&str>,
) -> Result<Plan, RunbookError> {
    match current {
        Some(true) => Ok(Plan::nothing(format!("trail {name} is logging"))),
        Some(false) => Ok(Plan::steps(
            format!("trail {name} exists but is not logging"),
            vec![Action::CloudTrailStartLogging { name: name.into() }],
        )),
        None => {
            let Some(bucket) = bucket else {
                return Err(RunbookError::Refused(format!(
                    "trail {name} does not exist and no S3BucketName was given to create it"
                )));
            };
            Ok(Plan::steps(
                format!("trail {name} does not exist"),
                vec![
                    Action::CloudTrailCreateTrail {
                        spec: TrailSpec {
                            name: name.into(),
                            s3_bucket_name: bucket.into(),
                            s3_key_prefix: prefix.map(str::to_string),
                            is_multi_region_trail: true,
                            include_global_service_events: true,
                            enable_log_file_validation: true,
                        },
                    },
                    Action::CloudTrailStartLogging { name: name.into() },
                ],
            ))
        }
    }
}

#[async_trait]
impl Runbook for EnableCloudTrail {
    fn info(&self) -> &'static RunbookInfo {
        &INFO
    }
    async fn plan(
        &self,
        cloud: &Cloud,
        _t: &Target,
        p: &RunbookParams,
    ) -> Result<Plan, RunbookError> {
        let name = req(&INFO, p, "TrailName")?;
        let current = match cloud.cloudtrail.get_trail(name).await? {
            None => None,
            Some(t) => Some(cloud.cloudtrail.is_logging(&t.name).await?),
        };
        plan_for(name, current, p.str("S3BucketName"), p.str("S3KeyPrefix"))
    }
    async fn verify(
        &self,
        cloud: &Cloud,
        _t: &Target,
        p: &RunbookParams,
    ) -> Result<VerificationResult, ActError> {
        let name = p.str("TrailName").unwrap_or_default();
        Ok(if cloud.cloudtrail.is_logging(name).await? {
            passed(format!("GetTrailStatus {name}: IsLogging true"))
        } else {
            failed(format!("GetTrailStatus {name}: IsLogging false"))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::remediation::{run_runbook, FakeCloud, Outcome};
    use crate::runbooks::testing::*;
    use crate::runbooks::trail_log_file_validation::tests::trail;

    #[tokio::test]
    async fn starts_logging_and_creates_when_missing() {
        let fake = Arc::new(FakeCloud::new());
        fake.add_trail(trail("t1", "logs"));
        let rb = &EnableCloudTrail;
        let t = target("AWS::CloudTrail::Trail", "t1");
        let rec = run_twice(&fake, rb, &t, &params(rb, &t, json!({}))).await;
        assert_eq!(rec.outcome, Outcome::Remediated);
        assert!(fake.trail("t1").unwrap().logging);

        // Account-level rule: the trail name comes from the mapping's parameters.
        let t = target("AWS::::Account", "123456789012");
        let p = params(rb, &t, json!({"TrailName": "new", "S3BucketName": "logs"}));
        let rec = run_twice(&fake, rb, &t, &p).await;
        assert_eq!(rec.outcome, Outcome::Remediated, "{rec:#?}");
        let created = fake.trail("new").unwrap();
        assert!(created.logging && created.trail.log_file_validation_enabled);

        let p = params(rb, &t, json!({"TrailName": "missing"}));
        let rec = run_runbook(&cloud(&fake), rb, &t, &p, false).await;
        assert!(rec.failure_message.unwrap().contains("no S3BucketName"));
    }
}

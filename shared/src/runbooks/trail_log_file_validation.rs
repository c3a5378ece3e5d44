//! `AWSConfigRemediation-EnableCloudTrailLogFileValidation`: turns on log file integrity
//! validation (digest files) for a trail.

use async_trait::async_trait;

use super::{
    failed, passed, req, ParamKind, Plan, Runbook, RunbookError, RunbookInfo, RunbookParam,
    RunbookParams,
};
use crate::remediation::{ActError, Action, Cloud, Target, Trail, TrailUpdate, VerificationResult};

pub struct EnableCloudTrailLogFileValidation;

static INFO: RunbookInfo = RunbookInfo {
    name: "AWSConfigRemediation-EnableCloudTrailLogFileValidation",
    description:
        "Enables log file validation on the trail (UpdateTrail EnableLogFileValidation=true).",
    resource_types: &["AWS::CloudTrail::Trail"],
    resource_param: Some("TrailName"),
    parameters: &[RunbookParam::required(
        "TrailName",
        ParamKind::String,
        "The trail's name or ARN.",
    )],
    read_api: "cloudtrail:GetTrail",
    cause_events: &["CreateTrail", "UpdateTrail"],
};

/// The pure plan.
pub fn plan_for(trail: &Trail) -> Plan {
    if trail.log_file_validation_enabled {
        return Plan::nothing(format!("trail {}: log file validation enabled", trail.name));
    }
    Plan::steps(
        format!("trail {}: log file validation disabled", trail.name),
        vec![Action::CloudTrailUpdateTrail {
            update: TrailUpdate {
                name: trail.name.clone(),
                enable_log_file_validation: Some(true),
                ..Default::default()
            },
        }],
    )
}

pub(crate) async fn read_trail(cloud: &Cloud, name: &str) -> Result<Trail, ActError> {
    cloud.cloudtrail.get_trail(name).await?.ok_or_else(|| {
        ActError::new(
            "cloudtrail:GetTrail",
            crate::remediation::ActErrorKind::NotFound,
            "TrailNotFoundException",
            format!("Unknown trail: {name}"),
        )
    })
}

#[async_trait]
impl Runbook for EnableCloudTrailLogFileValidation {
    fn info(&self) -> &'static RunbookInfo {
        &INFO
    }
    async fn plan(
        &self,
        cloud: &Cloud,
        _t: &Target,
        p: &RunbookParams,
    ) -> Result<Plan, RunbookError> {
        Ok(plan_for(
            &read_trail(cloud, req(&INFO, p, "TrailName")?).await?,
        ))
    }
    async fn verify(
        &self,
        cloud: &Cloud,
        _t: &Target,
        p: &RunbookParams,
    ) -> Result<VerificationResult, ActError> {
        let t = read_trail(cloud, p.str("TrailName").unwrap_or_default()).await?;
        Ok(if t.log_file_validation_enabled {
            passed(format!(
                "GetTrail {}: LogFileValidationEnabled true",
                t.name
            ))
        } else {
            failed(format!(
                "GetTrail {}: LogFileValidationEnabled false",
                t.name
            ))
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::remediation::{run_runbook, FakeCloud, FakeTrail, Outcome, Tags, TrailSelectors};
    use crate::runbooks::testing::*;

    pub fn trail(name: &str, bucket: &str) -> FakeTrail {
        FakeTrail {
            trail: Trail {
                name: name.into(),
                trail_arn: format!("arn:aws:cloudtrail:us-east-1:123456789012:trail/{name}"),
                home_region: Some("us-east-1".into()),
                s3_bucket_name: bucket.into(),
                s3_key_prefix: None,
                log_file_validation_enabled: false,
                is_multi_region_trail: false,
                include_global_service_events: true,
                kms_key_id: None,
            },
            logging: false,
            selectors: TrailSelectors::default(),
            tags: Tags::new(),
        }
    }

    #[tokio::test]
    async fn enables_validation() {
        let fake = Arc::new(FakeCloud::new());
        fake.add_trail(trail("t1", "logs"));
        let rb = &EnableCloudTrailLogFileValidation;
        let t = target("AWS::CloudTrail::Trail", "t1");
        let rec = run_twice(&fake, rb, &t, &params(rb, &t, json!({}))).await;
        assert_eq!(rec.outcome, Outcome::Remediated);
        assert!(fake.trail("t1").unwrap().trail.log_file_validation_enabled);
        assert_eq!(
            rec.step_executions[1].inputs,
            json!({"Name": "t1", "EnableLogFileValidation": true})
        );
        let t = target("AWS::CloudTrail::Trail", "nope");
        let rec = run_runbook(&cloud(&fake), rb, &t, &params(rb, &t, json!({})), false).await;
        assert!(rec
            .failure_message
            .unwrap()
            .contains("TrailNotFoundException"));
    }
}

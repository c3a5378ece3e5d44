//! `TrailWarden-RestoreTrail`: puts the suite's own trail back after someone tampered with it
//! (StopLogging, DeleteTrail, UpdateTrail, PutEventSelectors): recreates it if deleted,
//! restarts logging, restores the bucket and prefix, log file validation, multi-region and
//! global service events, and selectors that log every management event (data-event
//! selectors are kept). Settings are only ever restored towards more logging: a trail that
//! logs more than the baseline is left as it is.

use async_trait::async_trait;

use super::{
    failed, passed, req, ParamKind, Plan, Runbook, RunbookError, RunbookInfo, RunbookParam,
    RunbookParams,
};
use crate::remediation::{
    ActError, Action, Cloud, EventSelector, ReadWriteType, Target, Trail, TrailSelectors,
    TrailSpec, TrailUpdate, VerificationResult,
};

pub struct RestoreTrail;

static INFO: RunbookInfo = RunbookInfo {
    name: "TrailWarden-RestoreTrail",
    description: "Restores the suite's trail after tampering: recreate if deleted, StartLogging, UpdateTrail back to the baseline, PutEventSelectors for all management events.",
    resource_types: &["AWS::CloudTrail::Trail"],
    resource_param: Some("TrailName"),
    parameters: &[
        RunbookParam::required("TrailName", ParamKind::String, "The trail's name or ARN."),
        RunbookParam::required("S3BucketName", ParamKind::String, "The bucket the trail must deliver to (the suite's trail bucket)."),
        RunbookParam::optional("S3KeyPrefix", ParamKind::String, "The key prefix the trail must use."),
        RunbookParam::with_default("IsMultiRegionTrail", ParamKind::Boolean, "true", "Log every region."),
        RunbookParam::with_default("IncludeGlobalServiceEvents", ParamKind::Boolean, "true", "Log global services (IAM, STS, ...)."),
        RunbookParam::with_default("EnableLogFileValidation", ParamKind::Boolean, "true", "Write digest files."),
    ],
    read_api: "cloudtrail:GetTrail",
    cause_events: &["StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"],
};

/// The trail's configuration as one read.
#[derive(Debug, Clone)]
pub struct TrailState {
    pub trail: Trail,
    pub logging: bool,
    pub selectors: TrailSelectors,
}

/// The baseline the parameters describe.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub name: String,
    pub bucket: String,
    pub prefix: Option<String>,
    pub multi_region: bool,
    pub global_events: bool,
    pub validation: bool,
}

impl Baseline {
    fn from_params(p: &RunbookParams) -> Result<Self, RunbookError> {
        Ok(Self {
            name: req(&INFO, p, "TrailName")?.to_string(),
            bucket: req(&INFO, p, "S3BucketName")?.to_string(),
            prefix: p
                .str("S3KeyPrefix")
                .map(|s| s.trim_matches('/').to_string())
                .filter(|s| !s.is_empty()),
            multi_region: p.bool("IsMultiRegionTrail"),
            global_events: p.bool("IncludeGlobalServiceEvents"),
            validation: p.bool("EnableLogFileValidation"),
        })
    }
}

fn norm_prefix(p: &Option<String>) -> Option<&str> {
    p.as_deref()
        .map(|s| s.trim_matches('/'))
        .filter(|s| !s.is_empty())
}

/// The differences from the baseline, in words, and the update that fixes them.
fn drift(t: &Trail, b: &Baseline) -> (Vec<String>, TrailUpdate) {
    let mut what = Vec::new();
    let mut u = TrailUpdate {
        name: t.name.clone(),
        ..Default::default()
    };
    if t.s3_bucket_name != b.bucket {
        what.push(format!(
            "delivers to bucket {} instead of {}",
            t.s3_bucket_name, b.bucket
        ));
        u.s3_bucket_name = Some(b.bucket.clone());
    }
    if norm_prefix(&t.s3_key_prefix) != b.prefix.as_deref() {
        what.push(format!(
            "key prefix {:?} instead of {:?}",
            norm_prefix(&t.s3_key_prefix).unwrap_or(""),
            b.prefix.as_deref().unwrap_or("")
        ));
        u.s3_key_prefix = Some(b.prefix.clone().unwrap_or_default());
    }
    if b.validation && !t.log_file_validation_enabled {
        what.push("log file validation off".into());
        u.enable_log_file_validation = Some(true);
    }
    if b.multi_region && !t.is_multi_region_trail {
        what.push("single-region".into());
        u.is_multi_region_trail = Some(true);
    }
    if b.global_events && !t.include_global_service_events {
        what.push("global service events excluded".into());
        u.include_global_service_events = Some(true);
    }
    (what, u)
}

/// Selectors logging all management events, keeping the data resources already selected.
fn restored_selectors(current: &TrailSelectors) -> Vec<EventSelector> {
    let mut data = Vec::new();
    for s in &current.event_selectors {
        for d in &s.data_resources {
            if !data.contains(d) {
                data.push(d.clone());
            }
        }
    }
    vec![EventSelector {
        read_write_type: ReadWriteType::All,
        include_management_events: true,
        data_resources: data,
        exclude_management_event_sources: Vec::new(),
    }]
}

/// The pure plan.
pub fn plan_for(current: Option<&TrailState>, b: &Baseline) -> Plan {
    let Some(cur) = current else {
        return Plan::steps(
            format!("trail {} does not exist (deleted)", b.name),
            vec![
                Action::CloudTrailCreateTrail {
                    spec: TrailSpec {
                        name: b.name.clone(),
                        s3_bucket_name: b.bucket.clone(),
                        s3_key_prefix: b.prefix.clone(),
                        is_multi_region_trail: b.multi_region,
                        include_global_service_events: b.global_events,
                        enable_log_file_validation: b.validation,
                    },
                },
                Action::CloudTrailStartLogging {
                    name: b.name.clone(),
                },
            ],
        );
    };
    let name = cur.trail.name.clone();
    let mut what = Vec::new();
    let mut steps = Vec::new();
    if !cur.logging {
        what.push("not logging".to_string());
        steps.push(Action::CloudTrailStartLogging { name: name.clone() });
    }
    let (d, update) = drift(&cur.trail, b);
    what.extend(d);
    if !update.is_empty() {
        steps.push(Action::CloudTrailUpdateTrail { update });
    }
    if !cur.selectors.logs_all_management_events() {
        what.push("event selectors do not log every management event".into());
        steps.push(Action::CloudTrailPutEventSelectors {
            name: name.clone(),
            selectors: restored_selectors(&cur.selectors),
        });
    }
    if steps.is_empty() {
        Plan::nothing(format!(
            "trail {name} is logging with the expected settings"
        ))
    } else {
        Plan::steps(format!("trail {name}: {}", what.join("; ")), steps)
    }
}

async fn read(cloud: &Cloud, name: &str) -> Result<Option<TrailState>, ActError> {
    let Some(trail) = cloud.cloudtrail.get_trail(name).await? else {
        return Ok(None);
    };
    let logging = cloud.cloudtrail.is_logging(&trail.name).await?;
    let selectors = cloud.cloudtrail.get_event_selectors(&trail.name).await?;
    Ok(Some(TrailState {
        trail,
        logging,
        selectors,
    }))
}

#[async_trait]
impl Runbook for RestoreTrail {
    fn info(&self) -> &'static RunbookInfo {
        &INFO
    }
    async fn plan(
        &self,
        cloud: &Cloud,
        _t: &Target,
        p: &RunbookParams,
    ) -> Result<Plan, RunbookError> {
        let b = Baseline::from_params(p)?;
        let cur = read(cloud, &b.name).await?;
        Ok(plan_for(cur.as_ref(), &b))
    }
    async fn verify(
        &self,
        cloud: &Cloud,
        _t: &Target,
        p: &RunbookParams,
    ) -> Result<VerificationResult, ActError> {
        let b = match Baseline::from_params(p) {
            Ok(b) => b,
            Err(e) => return Ok(failed(e.to_string())),
        };
        Ok(match read(cloud, &b.name).await? {
            None => failed(format!("GetTrail: trail {} does not exist", b.name)),
            Some(cur) => {
                let plan = plan_for(Some(&cur), &b);
                if plan.steps.is_empty() {
                    passed(format!(
                        "trail {}: IsLogging true, bucket {}, validation {}, multi-region {}, all management events",
                        cur.trail.name, cur.trail.s3_bucket_name, cur.trail.log_file_validation_enabled, cur.trail.is_multi_region_trail
                    ))
                } else {
                    failed(plan.current)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::remediation::{DataResource, FakeCloud, Outcome};
    use crate::runbooks::testing::*;
    use crate::runbooks::trail_log_file_validation::tests::trail;

    fn p(t: &Target) -> RunbookParams {
        params(
            &RestoreTrail,
            t,
            json!({"S3BucketName": "trail-bucket", "S3KeyPrefix": "audit"}),
        )
    }

    #[tokio::test]
    async fn restores_a_tampered_trail() {
        let fake = Arc::new(FakeCloud::new());
        let mut tr = trail("tw", "attacker-bucket");
        tr.selectors.event_selectors = vec![EventSelector {
            read_write_type: ReadWriteType::ReadOnly,
            include_management_events: false,
            data_resources: vec![DataResource {
                resource_type: "AWS::S3::Object".into(),
                values: vec!["arn:aws:s3".into()],
            }],
            exclude_management_event_sources: vec![],
        }];
        fake.add_trail(tr);
        let t = target("AWS::CloudTrail::Trail", "tw");
        let rec = run_twice(&fake, &RestoreTrail, &t, &p(&t)).await;
        assert_eq!(rec.outcome, Outcome::Remediated, "{rec:#?}");
        let apis: Vec<&str> = rec.step_executions.iter().map(|s| s.api.as_str()).collect();
        assert_eq!(
            apis,
            [
                "cloudtrail:GetTrail",
                "cloudtrail:StartLogging",
                "cloudtrail:UpdateTrail",
                "cloudtrail:PutEventSelectors",
                "cloudtrail:GetTrail"
            ]
        );
        let now = fake.trail("tw").unwrap();
        assert!(now.logging);
        assert_eq!(now.trail.s3_bucket_name, "trail-bucket");
        assert_eq!(now.trail.s3_key_prefix.as_deref(), Some("audit"));
        assert!(now.trail.log_file_validation_enabled && now.trail.is_multi_region_trail);
        let sel = &now.selectors.event_selectors[0];
        assert!(sel.include_management_events && sel.read_write_type == ReadWriteType::All);
        assert_eq!(sel.data_resources.len(), 1, "data selectors kept");
    }

    #[tokio::test]
    async fn recreates_a_deleted_trail() {
        let fake = Arc::new(FakeCloud::new());
        let t = target("AWS::CloudTrail::Trail", "tw");
        let rec = run_twice(&fake, &RestoreTrail, &t, &p(&t)).await;
        assert_eq!(rec.outcome, Outcome::Remediated);
        assert!(fake.trail("tw").unwrap().logging);
    }

    #[test]
    fn never_reduces_logging() {
        let mut tr = trail("tw", "trail-bucket").trail;
        tr.s3_key_prefix = Some("audit".into());
        tr.is_multi_region_trail = true;
        tr.log_file_validation_enabled = true;
        let b = Baseline {
            name: "tw".into(),
            bucket: "trail-bucket".into(),
            prefix: Some("audit".into()),
            multi_region: false,
            global_events: false,
            validation: false,
        };
        let st = TrailState {
            trail: tr,
            logging: true,
            selectors: TrailSelectors::default(),
        };
        assert!(plan_for(Some(&st), &b).steps.is_empty());
    }
}

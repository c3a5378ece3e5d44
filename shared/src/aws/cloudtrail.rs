//! [`CloudTrailActuator`] on AWS CloudTrail.

use async_trait::async_trait;
use aws_sdk_cloudtrail::error::ProvideErrorMetadata;
use aws_sdk_cloudtrail::types::{
    self as ct, DataResource as SdkDataResource, EventSelector as SdkEventSelector,
};
use aws_sdk_cloudtrail::Client;

use super::act::act_err;
use crate::remediation::{
    ActResult, CloudTrailActuator, DataResource, EventSelector, ReadWriteType, Tags, Trail,
    TrailSelectors, TrailSpec, TrailUpdate,
};

/// CloudTrail through the SDK.
#[derive(Clone)]
pub struct CloudTrailResources {
    client: Client,
}

impl CloudTrailResources {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn rw(t: Option<&ct::ReadWriteType>) -> ReadWriteType {
    match t {
        Some(ct::ReadWriteType::ReadOnly) => ReadWriteType::ReadOnly,
        Some(ct::ReadWriteType::WriteOnly) => ReadWriteType::WriteOnly,
        _ => ReadWriteType::All,
    }
}

#[async_trait]
impl CloudTrailActuator for CloudTrailResources {
    async fn get_trail(&self, name: &str) -> ActResult<Option<Trail>> {
        let out = match self.client.get_trail().name(name).send().await {
            Ok(o) => o,
            Err(e) if e.code() == Some("TrailNotFoundException") => return Ok(None),
            Err(e) => return Err(act_err!("cloudtrail:GetTrail", e)),
        };
        Ok(out.trail().map(|t| Trail {
            name: t.name().unwrap_or(name).to_string(),
            trail_arn: t.trail_arn().unwrap_or_default().to_string(),
            home_region: t.home_region().map(str::to_string),
            s3_bucket_name: t.s3_bucket_name().unwrap_or_default().to_string(),
            s3_key_prefix: t
                .s3_key_prefix()
                .filter(|p| !p.is_empty())
                .map(str::to_string),
            log_file_validation_enabled: t.log_file_validation_enabled().unwrap_or(false),
            is_multi_region_trail: t.is_multi_region_trail().unwrap_or(false),
            include_global_service_events: t.include_global_service_events().unwrap_or(false),
            kms_key_id: t.kms_key_id().map(str::to_string),
        }))
    }

    async fn is_logging(&self, name: &str) -> ActResult<bool> {
        let out = self
            .client
            .get_trail_status()
            .name(name)
            .send()
            .await
            .map_err(|e| act_err!("cloudtrail:GetTrailStatus", e))?;
        Ok(out.is_logging().unwrap_or(false))
    }

    async fn get_event_selectors(&self, name: &str) -> ActResult<TrailSelectors> {
        let out = self
            .client
            .get_event_selectors()
            .trail_name(name)
            .send()
            .await
            .map_err(|e| act_err!("cloudtrail:GetEventSelectors", e))?;
        Ok(TrailSelectors {
            event_selectors: out
                .event_selectors()
                .iter()
                .map(|s| EventSelector {
                    read_write_type: rw(s.read_write_type()),
                    include_management_events: s.include_management_events().unwrap_or(true),
                    data_resources: s
                        .data_resources()
                        .iter()
                        .map(|d| DataResource {
                            resource_type: d.r#type().unwrap_or_default().to_string(),
                            values: d.values().to_vec(),
                        })
                        .collect(),
                    exclude_management_event_sources: s.exclude_management_event_sources().to_vec(),
                })
                .collect(),
            uses_advanced_selectors: !out.advanced_event_selectors().is_empty(),
        })
    }

    async fn create_trail(&self, s: &TrailSpec) -> ActResult<()> {
        self.client
            .create_trail()
            .name(&s.name)
            .s3_bucket_name(&s.s3_bucket_name)
            .set_s3_key_prefix(s.s3_key_prefix.clone())
            .is_multi_region_trail(s.is_multi_region_trail)
            .include_global_service_events(s.include_global_service_events)
            .enable_log_file_validation(s.enable_log_file_validation)
            .send()
            .await
            .map_err(|e| act_err!("cloudtrail:CreateTrail", e))?;
        Ok(())
    }

    async fn update_trail(&self, u: &TrailUpdate) -> ActResult<()> {
        self.client
            .update_trail()
            .name(&u.name)
            .set_s3_bucket_name(u.s3_bucket_name.clone())
            .set_s3_key_prefix(u.s3_key_prefix.clone())
            .set_is_multi_region_trail(u.is_multi_region_trail)
            .set_include_global_service_events(u.include_global_service_events)
            .set_enable_log_file_validation(u.enable_log_file_validation)
            .send()
            .await
            .map_err(|e| act_err!("cloudtrail:UpdateTrail", e))?;
        Ok(())
    }

    async fn start_logging(&self, name: &str) -> ActResult<()> {
        self.client
            .start_logging()
            .name(name)
            .send()
            .await
            .map_err(|e| act_err!("cloudtrail:StartLogging", e))?;
        Ok(())
    }

    async fn put_event_selectors(&self, name: &str, selectors: &[EventSelector]) -> ActResult<()> {
        let sdk: Vec<SdkEventSelector> = selectors
            .iter()
            .map(|s| {
                SdkEventSelector::builder()
                    .read_write_type(match s.read_write_type {
                        ReadWriteType::All => ct::ReadWriteType::All,
                        ReadWriteType::ReadOnly => ct::ReadWriteType::ReadOnly,
                        ReadWriteType::WriteOnly => ct::ReadWriteType::WriteOnly,
                    })
                    .include_management_events(s.include_management_events)
                    .set_data_resources(Some(
                        s.data_resources
                            .iter()
                            .map(|d| {
                                SdkDataResource::builder()
                                    .r#type(&d.resource_type)
                                    .set_values(Some(d.values.clone()))
                                    .build()
                            })
                            .collect(),
                    ))
                    .set_exclude_management_event_sources(Some(
                        s.exclude_management_event_sources.clone(),
                    ))
                    .build()
            })
            .collect();
        self.client
            .put_event_selectors()
            .trail_name(name)
            .set_event_selectors(Some(sdk))
            .send()
            .await
            .map_err(|e| act_err!("cloudtrail:PutEventSelectors", e))?;
        Ok(())
    }

    async fn list_tags(&self, trail_arn: &str) -> ActResult<Tags> {
        let out = self
            .client
            .list_tags()
            .resource_id_list(trail_arn)
            .send()
            .await
            .map_err(|e| act_err!("cloudtrail:ListTags", e))?;
        Ok(out
            .resource_tag_list()
            .iter()
            .flat_map(|r| r.tags_list())
            .map(|t| {
                (
                    t.key().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect())
    }
}

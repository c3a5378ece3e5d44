//! [`ConfigClient`] on AWS Config, CloudTrail and IAM (cargo feature `aws-config-rules`).
//!
//! * Config: `GetResourceConfigHistory` (`laterTime`, `limit=1`), `ListDiscoveredResources` (all
//!   pages), `BatchGetResourceConfig`, `PutEvaluations` (`TestMode` only for the `TESTMODE`
//!   token; `FailedEvaluations` mapped back to the evaluations that were sent),
//!   `GetComplianceDetailsByConfigRule` (all pages, all compliance types).
//! * CloudTrail: `DescribeTrails` (shadow trails included) + `GetTrailStatus` +
//!   `GetEventSelectors` per trail (basic and advanced selectors flattened to
//!   [`ManagementEvents`]).
//! * IAM: `GetAccountPasswordPolicy` (`NoSuchEntity` = no policy), `GetAccountSummary`,
//!   `ListUsers` + `ListMFADevices` per user.
//!
//! Items from the API are rebuilt as the API's JSON shape (`accountId`, `arn`, `version`,
//! `configurationItemMD5Hash`, `relationships[].relationshipName`, `configuration` and the
//! supplementary values as JSON strings) and normalised by [`ConfigurationItem::from_owned`], so
//! rules see exactly what they see for notification items.
//!
//! Errors: throttling (`ThrottlingException`, `TooManyRequestsException`, `Throttling`,
//! `RequestLimitExceeded`, ... or HTTP 429) becomes [`PortError::Throttled`], which the evaluator
//! retries with backoff. To avoid retrying twice, the clients built by
//! [`AwsConfigClient::from_sdk_config`] have the SDK's own retries switched off. "Does not exist"
//! codes become [`PortError::NotFound`]; the service's 5xx errors and transport failures
//! (connection refused or dropped, timeouts) become [`PortError::Transient`], retried like
//! throttling; every other service error keeps its AWS code and message ([`PortError::Service`]).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_cloudtrail::types::{AdvancedEventSelector, EventSelector};
use aws_sdk_config::config::http::HttpResponse;
use aws_sdk_config::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_config::types::{
    BaseConfigurationItem, ConfigurationItem as SdkItem, ResourceKey as SdkResourceKey,
    ResourceType,
};
use aws_smithy_types::retry::RetryConfig;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::{StreamExt, TryStreamExt};
use serde_json::{json, Map, Value};

use crate::config::{
    BatchGetResult, ComplianceType, ConfigClient, ConfigurationItem, Evaluation, IamUserSummary,
    ManagementEvents, PasswordPolicy, PortError, PreviousEvaluation, ResourceKey, RootAccount,
    TrailDescription,
};

/// How many `ListMFADevices` / per-trail CloudTrail calls run at once.
const CONCURRENT_LOOKUPS: usize = 8;

/// Error codes that mean "slow down".
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "TooManyRequestsException",
    "Throttling",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "LimitExceededException.Throttling",
];

/// Error codes of the service's own failures (retried).
const TRANSIENT_CODES: &[&str] = &[
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "InternalServiceError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Error codes that mean "the resource or entity does not exist".
const NOT_FOUND_CODES: &[&str] = &[
    "ResourceNotDiscoveredException",
    "NoSuchEntity",
    "NoSuchEntityException",
    "TrailNotFoundException",
];

/// The port on the AWS SDK: one Config, one CloudTrail and one IAM client.
#[derive(Clone, Debug)]
pub struct AwsConfigClient {
    config: aws_sdk_config::Client,
    cloudtrail: aws_sdk_cloudtrail::Client,
    iam: aws_sdk_iam::Client,
}

impl AwsConfigClient {
    /// The port on three ready clients (their retry settings are left as they are).
    pub fn new(
        config: aws_sdk_config::Client,
        cloudtrail: aws_sdk_cloudtrail::Client,
        iam: aws_sdk_iam::Client,
    ) -> Self {
        Self {
            config,
            cloudtrail,
            iam,
        }
    }

    /// Clients from a shared SDK configuration, with the SDK's retries off (the evaluator
    /// retries throttled calls itself).
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig) -> Self {
        let no_retry = RetryConfig::disabled();
        Self::new(
            aws_sdk_config::Client::from_conf(
                aws_sdk_config::config::Builder::from(sdk)
                    .retry_config(no_retry.clone())
                    .build(),
            ),
            aws_sdk_cloudtrail::Client::from_conf(
                aws_sdk_cloudtrail::config::Builder::from(sdk)
                    .retry_config(no_retry.clone())
                    .build(),
            ),
            aws_sdk_iam::Client::from_conf(
                aws_sdk_iam::config::Builder::from(sdk)
                    .retry_config(no_retry)
                    .build(),
            ),
        )
    }

    /// Clients from the environment (region, credentials, `AWS_ENDPOINT_URL*`).
    pub async fn from_env() -> Self {
        Self::from_sdk_config(&super::load_config().await)
    }

    /// The Config client.
    pub fn config_client(&self) -> &aws_sdk_config::Client {
        &self.config
    }
}

/// Maps an error code / message / HTTP status to the port's error (see the module docs).
pub fn classify_error(
    code: Option<&str>,
    message: Option<&str>,
    status: Option<u16>,
    fallback: impl FnOnce() -> String,
) -> PortError {
    let message = message.map(str::to_string);
    match code {
        Some(c) if THROTTLING_CODES.contains(&c) => {
            PortError::Throttled(message.unwrap_or_else(|| c.to_string()))
        }
        Some(c) if NOT_FOUND_CODES.contains(&c) => {
            PortError::NotFound(format!("{c}: {}", message.unwrap_or_default()))
        }
        Some(c) if TRANSIENT_CODES.contains(&c) => {
            PortError::Transient(format!("{c}: {}", message.unwrap_or_default()))
        }
        Some(c) if !c.is_empty() => PortError::Service {
            code: c.to_string(),
            message: message.unwrap_or_default(),
        },
        _ if status == Some(429) => PortError::Throttled(message.unwrap_or_else(fallback)),
        _ => match status {
            Some(s) if s >= 500 => {
                PortError::Transient(format!("HTTP{s}: {}", message.unwrap_or_else(fallback)))
            }
            Some(s) => PortError::Service {
                code: format!("HTTP{s}"),
                message: message.unwrap_or_else(fallback),
            },
            None => PortError::Transient(message.unwrap_or_else(fallback)),
        },
    }
}

/// An SDK error (any of the three services) as a port error.
fn port_error<E>(e: SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let body = e
        .raw_response()
        .and_then(|r| r.body().bytes())
        .map(|b| {
            String::from_utf8_lossy(b)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|b| !b.is_empty());
    let code = e.code().map(str::to_string);
    let message = e.message().map(str::to_string);
    classify_error(code.as_deref(), message.as_deref(), status, || match &e {
        SdkError::ServiceError(_) | SdkError::ResponseError(_) => body
            .map(|b| b.chars().take(300).collect())
            .unwrap_or_else(|| DisplayErrorContext(&e).to_string()),
        _ => DisplayErrorContext(&e).to_string(),
    })
}

fn to_smithy(t: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_millis(t.timestamp_millis())
}

fn time_text(t: Option<&aws_smithy_types::DateTime>) -> Value {
    t.and_then(super::to_chrono)
        .map(|t| Value::String(t.to_rfc3339_opts(SecondsFormat::Millis, true)))
        .unwrap_or(Value::Null)
}

fn opt(s: Option<&str>) -> Value {
    s.map(|s| Value::String(s.to_string()))
        .unwrap_or(Value::Null)
}

fn string_map(m: Option<&HashMap<String, String>>) -> Value {
    Value::Object(
        m.into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<Map<_, _>>(),
    )
}

/// A `GetResourceConfigHistory` item as the API's JSON.
pub fn item_json(ci: &SdkItem) -> Value {
    json!({
        "version": opt(ci.version()),
        "accountId": opt(ci.account_id()),
        "configurationItemCaptureTime": time_text(ci.configuration_item_capture_time()),
        "configurationItemStatus": opt(ci.configuration_item_status().map(|s| s.as_str())),
        "configurationStateId": opt(ci.configuration_state_id()),
        "configurationItemMD5Hash": opt(ci.configuration_item_md5_hash()),
        "arn": opt(ci.arn()),
        "resourceType": opt(ci.resource_type().map(|t| t.as_str())),
        "resourceId": opt(ci.resource_id()),
        "resourceName": opt(ci.resource_name()),
        "awsRegion": opt(ci.aws_region()),
        "availabilityZone": opt(ci.availability_zone()),
        "resourceCreationTime": time_text(ci.resource_creation_time()),
        "tags": string_map(ci.tags()),
        "relatedEvents": ci.related_events(),
        "relationships": ci.relationships().iter().map(|r| json!({
            "resourceType": opt(r.resource_type().map(|t| t.as_str())),
            "resourceId": opt(r.resource_id()),
            "resourceName": opt(r.resource_name()),
            "relationshipName": opt(r.relationship_name()),
        })).collect::<Vec<_>>(),
        "configuration": opt(ci.configuration()),
        "supplementaryConfiguration": string_map(ci.supplementary_configuration()),
    })
}

/// A `BatchGetResourceConfig` item as the API's JSON.
pub fn base_item_json(ci: &BaseConfigurationItem) -> Value {
    json!({
        "version": opt(ci.version()),
        "accountId": opt(ci.account_id()),
        "configurationItemCaptureTime": time_text(ci.configuration_item_capture_time()),
        "configurationItemStatus": opt(ci.configuration_item_status().map(|s| s.as_str())),
        "configurationStateId": opt(ci.configuration_state_id()),
        "arn": opt(ci.arn()),
        "resourceType": opt(ci.resource_type().map(|t| t.as_str())),
        "resourceId": opt(ci.resource_id()),
        "resourceName": opt(ci.resource_name()),
        "awsRegion": opt(ci.aws_region()),
        "availabilityZone": opt(ci.availability_zone()),
        "resourceCreationTime": time_text(ci.resource_creation_time()),
        "configuration": opt(ci.configuration()),
        "supplementaryConfiguration": string_map(ci.supplementary_configuration()),
    })
}

/// The item the API answered, normalised (moved, not copied: items can be megabytes).
fn normalise(v: Value) -> Result<ConfigurationItem, PortError> {
    ConfigurationItem::from_owned(v).map_err(|e| PortError::Other(format!("unusable item: {e}")))
}

/// Flattens basic or advanced event selectors to the management-event selection.
pub fn management_events(
    basic: &[EventSelector],
    advanced: &[AdvancedEventSelector],
) -> Option<ManagementEvents> {
    if let Some(sel) = basic
        .iter()
        .find(|s| s.include_management_events().unwrap_or(true))
    {
        return Some(ManagementEvents {
            include: true,
            read_write_type: sel
                .read_write_type()
                .map(|r| r.as_str().to_string())
                .unwrap_or_else(|| "All".into()),
            exclude_sources: sel.exclude_management_event_sources().to_vec(),
        });
    }
    if !basic.is_empty() {
        return Some(ManagementEvents {
            include: false,
            read_write_type: "All".into(),
            exclude_sources: Vec::new(),
        });
    }
    if advanced.is_empty() {
        return None;
    }
    let management = advanced.iter().find(|a| {
        a.field_selectors()
            .iter()
            .any(|f| f.field() == "eventCategory" && f.equals().iter().any(|v| v == "Management"))
    });
    let Some(sel) = management else {
        return Some(ManagementEvents {
            include: false,
            read_write_type: "All".into(),
            exclude_sources: Vec::new(),
        });
    };
    let mut out = ManagementEvents::default();
    for f in sel.field_selectors() {
        match f.field() {
            "readOnly" => match f.equals().first().map(String::as_str) {
                Some("true") => out.read_write_type = "ReadOnly".into(),
                Some("false") => out.read_write_type = "WriteOnly".into(),
                _ => {}
            },
            "eventSource" => out.exclude_sources.extend(f.not_equals().iter().cloned()),
            _ => {}
        }
    }
    Some(out)
}

#[async_trait]
impl ConfigClient for AwsConfigClient {
    async fn get_resource_config_history(
        &self,
        resource_type: &str,
        resource_id: &str,
        later_time: Option<DateTime<Utc>>,
    ) -> Result<ConfigurationItem, PortError> {
        let out = self
            .config
            .get_resource_config_history()
            .resource_type(ResourceType::from(resource_type))
            .resource_id(resource_id)
            .set_later_time(later_time.map(to_smithy))
            .limit(1)
            .send()
            .await
            .map_err(port_error)?;
        let item = out.configuration_items().first().ok_or_else(|| {
            PortError::NotFound(format!(
                "no configuration history for {resource_type} {resource_id}"
            ))
        })?;
        normalise(item_json(item))
    }

    async fn list_discovered_resources(
        &self,
        resource_type: &str,
    ) -> Result<Vec<String>, PortError> {
        let mut ids = Vec::new();
        let mut pages = self
            .config
            .list_discovered_resources()
            .resource_type(ResourceType::from(resource_type))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(port_error)?;
            ids.extend(
                page.resource_identifiers()
                    .iter()
                    .filter(|r| r.resource_deletion_time().is_none())
                    .filter_map(|r| r.resource_id().map(str::to_string)),
            );
        }
        Ok(ids)
    }

    async fn batch_get_resource_config(
        &self,
        keys: &[ResourceKey],
    ) -> Result<BatchGetResult, PortError> {
        let sdk_keys = keys
            .iter()
            .map(|k| {
                SdkResourceKey::builder()
                    .resource_type(ResourceType::from(k.resource_type.as_str()))
                    .resource_id(&k.resource_id)
                    .build()
                    .map_err(|e| PortError::Other(format!("resource key: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .config
            .batch_get_resource_config()
            .set_resource_keys(Some(sdk_keys))
            .send()
            .await
            .map_err(port_error)?;
        let items = out
            .base_configuration_items()
            .iter()
            .map(|ci| normalise(base_item_json(ci)))
            .collect::<Result<Vec<_>, _>>()?;
        let unprocessed = out
            .unprocessed_resource_keys()
            .iter()
            .map(|k| ResourceKey::new(k.resource_type().as_str(), k.resource_id()))
            .collect();
        Ok(BatchGetResult { items, unprocessed })
    }

    async fn put_evaluations(
        &self,
        evaluations: &[Evaluation],
        result_token: &str,
        test_mode: bool,
    ) -> Result<Vec<Evaluation>, PortError> {
        let sdk_evals = evaluations
            .iter()
            .map(|e| {
                aws_sdk_config::types::Evaluation::builder()
                    .compliance_resource_type(&e.resource_type)
                    .compliance_resource_id(&e.resource_id)
                    .compliance_type(aws_sdk_config::types::ComplianceType::from(
                        e.compliance_type.as_str(),
                    ))
                    .set_annotation(e.annotation.clone())
                    .ordering_timestamp(to_smithy(e.ordering_timestamp))
                    .build()
                    .map_err(|err| PortError::Other(format!("evaluation: {err}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut req = self
            .config
            .put_evaluations()
            .set_evaluations(Some(sdk_evals))
            .result_token(result_token);
        if test_mode {
            req = req.test_mode(true);
        }
        let out = req.send().await.map_err(port_error)?;
        Ok(out
            .failed_evaluations()
            .iter()
            .map(|f| {
                evaluations
                    .iter()
                    .find(|e| {
                        e.resource_type == f.compliance_resource_type()
                            && e.resource_id == f.compliance_resource_id()
                    })
                    .cloned()
                    .unwrap_or_else(|| {
                        Evaluation::new(
                            ComplianceType::parse(f.compliance_type().as_str())
                                .unwrap_or(ComplianceType::NotApplicable),
                            f.annotation().map(str::to_string),
                            f.compliance_resource_type(),
                            f.compliance_resource_id(),
                            super::to_chrono(f.ordering_timestamp()).unwrap_or_else(Utc::now),
                        )
                    })
            })
            .collect())
    }

    async fn get_compliance_details_by_config_rule(
        &self,
        config_rule_name: &str,
    ) -> Result<Vec<PreviousEvaluation>, PortError> {
        let mut out = Vec::new();
        let mut pages = self
            .config
            .get_compliance_details_by_config_rule()
            .config_rule_name(config_rule_name)
            .limit(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(port_error)?;
            for r in page.evaluation_results() {
                let Some(q) = r
                    .evaluation_result_identifier()
                    .and_then(|i| i.evaluation_result_qualifier())
                else {
                    continue;
                };
                let (Some(rt), Some(id)) = (q.resource_type(), q.resource_id()) else {
                    continue;
                };
                out.push(PreviousEvaluation {
                    key: ResourceKey::new(rt, id),
                    compliance_type: r
                        .compliance_type()
                        .and_then(|c| ComplianceType::parse(c.as_str())),
                });
            }
        }
        Ok(out)
    }

    async fn describe_trails(&self) -> Result<Vec<TrailDescription>, PortError> {
        let out = self
            .cloudtrail
            .describe_trails()
            .include_shadow_trails(true)
            .send()
            .await
            .map_err(port_error)?;
        let trails = out.trail_list().to_vec();
        let described = futures::stream::iter(trails)
            .map(|t| async move {
                let id = t.trail_arn().or(t.name()).unwrap_or_default().to_string();
                let status = match self.cloudtrail.get_trail_status().name(&id).send().await {
                    Ok(s) => s,
                    Err(e) => match port_error(e) {
                        // Deleted between DescribeTrails and now.
                        PortError::NotFound(_) => return Ok(None),
                        other => return Err(other),
                    },
                };
                let selectors = match self
                    .cloudtrail
                    .get_event_selectors()
                    .trail_name(&id)
                    .send()
                    .await
                {
                    Ok(s) => management_events(s.event_selectors(), s.advanced_event_selectors()),
                    Err(e) => match port_error(e) {
                        PortError::NotFound(_) => return Ok(None),
                        other => return Err(other),
                    },
                };
                Ok(Some(TrailDescription {
                    name: t.name().unwrap_or_default().to_string(),
                    arn: t.trail_arn().map(str::to_string),
                    home_region: t.home_region().map(str::to_string),
                    is_multi_region_trail: t.is_multi_region_trail().unwrap_or(false),
                    is_organization_trail: t.is_organization_trail().unwrap_or(false),
                    is_logging: status.is_logging().unwrap_or(false),
                    s3_bucket_name: t.s3_bucket_name().map(str::to_string),
                    sns_topic_arn: t.sns_topic_arn().map(str::to_string),
                    cloud_watch_logs_log_group_arn: t
                        .cloud_watch_logs_log_group_arn()
                        .map(str::to_string),
                    log_file_validation_enabled: t.log_file_validation_enabled().unwrap_or(false),
                    include_global_service_events: t
                        .include_global_service_events()
                        .unwrap_or(false),
                    management_events: selectors,
                }))
            })
            .buffered(CONCURRENT_LOOKUPS)
            .try_collect::<Vec<_>>()
            .await?;
        Ok(described.into_iter().flatten().collect())
    }

    async fn get_account_password_policy(&self) -> Result<Option<PasswordPolicy>, PortError> {
        let out = match self.iam.get_account_password_policy().send().await {
            Ok(out) => out,
            Err(e) => {
                return match port_error(e) {
                    PortError::NotFound(_) => Ok(None),
                    other => Err(other),
                }
            }
        };
        let Some(p) = out.password_policy() else {
            return Ok(None);
        };
        let positive = |n: Option<i32>| n.filter(|n| *n > 0).map(|n| n as u32);
        Ok(Some(PasswordPolicy {
            minimum_password_length: positive(p.minimum_password_length()),
            require_symbols: p.require_symbols(),
            require_numbers: p.require_numbers(),
            require_uppercase_characters: p.require_uppercase_characters(),
            require_lowercase_characters: p.require_lowercase_characters(),
            allow_users_to_change_password: p.allow_users_to_change_password(),
            max_password_age: positive(p.max_password_age()),
            password_reuse_prevention: positive(p.password_reuse_prevention()),
            hard_expiry: p.hard_expiry(),
        }))
    }

    async fn get_root_account(&self) -> Result<RootAccount, PortError> {
        use aws_sdk_iam::types::SummaryKeyType;
        let out = self
            .iam
            .get_account_summary()
            .send()
            .await
            .map_err(port_error)?;
        let map = out.summary_map();
        let get = |k: SummaryKeyType| map.and_then(|m| m.get(&k)).copied();
        Ok(RootAccount {
            mfa_enabled: get(SummaryKeyType::AccountMfaEnabled).unwrap_or(0) > 0,
            access_keys_present: get(SummaryKeyType::AccountAccessKeysPresent).map(|n| n > 0),
        })
    }

    async fn list_iam_users(&self) -> Result<Vec<IamUserSummary>, PortError> {
        let mut users = Vec::new();
        let mut pages = self.iam.list_users().into_paginator().send();
        while let Some(page) = pages.next().await {
            users.extend(page.map_err(port_error)?.users().iter().cloned());
        }
        futures::stream::iter(users)
            .map(|u| async move {
                let mut devices = 0usize;
                let mut pages = self
                    .iam
                    .list_mfa_devices()
                    .user_name(u.user_name())
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    devices += page.map_err(port_error)?.mfa_devices().len();
                }
                Ok(IamUserSummary {
                    user_name: u.user_name().to_string(),
                    user_id: u.user_id().to_string(),
                    arn: Some(u.arn().to_string()),
                    mfa_enabled: devices > 0,
                    password_enabled: None,
                })
            })
            .buffered(CONCURRENT_LOOKUPS)
            .try_collect()
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_codes_and_429_are_throttled() {
        for code in [
            "ThrottlingException",
            "TooManyRequestsException",
            "Throttling",
        ] {
            let e = classify_error(Some(code), Some("Rate exceeded"), Some(400), String::new);
            assert_eq!(e, PortError::Throttled("Rate exceeded".into()), "{code}");
        }
        let e = classify_error(None, None, Some(429), || "Too Many Requests".into());
        assert_eq!(e, PortError::Throttled("Too Many Requests".into()));
    }

    #[test]
    fn other_errors_keep_code_and_message() {
        let e = classify_error(
            Some("InvalidResultTokenException"),
            Some("The result token is invalid"),
            Some(400),
            String::new,
        );
        assert_eq!(
            e.to_string(),
            "InvalidResultTokenException: The result token is invalid"
        );
        let e = classify_error(
            Some("ResourceNotDiscoveredException"),
            Some("gone"),
            Some(400),
            String::new,
        );
        assert!(
            matches!(e, PortError::NotFound(m) if m.contains("ResourceNotDiscoveredException"))
        );
        let e = classify_error(None, None, Some(403), || "<html>no</html>".into());
        assert_eq!(e.to_string(), "HTTP403: <html>no</html>");
    }

    #[test]
    fn server_errors_and_transport_failures_are_transient() {
        let e = classify_error(None, None, Some(500), || "<html>boom</html>".into());
        assert_eq!(e, PortError::Transient("HTTP500: <html>boom</html>".into()));
        let e = classify_error(None, None, None, || "connection refused".into());
        assert_eq!(e, PortError::Transient("connection refused".into()));
        for code in ["InternalFailure", "ServiceUnavailable"] {
            let e = classify_error(Some(code), Some("try again"), Some(503), String::new);
            assert_eq!(e, PortError::Transient(format!("{code}: try again")));
        }
    }

    #[test]
    fn api_item_json_normalises_like_the_api_form() {
        let ci = SdkItem::builder()
            .version("1.3")
            .account_id("123456789012")
            .configuration_item_capture_time(aws_smithy_types::DateTime::from_secs(1_700_000_000))
            .configuration_item_status(aws_sdk_config::types::ConfigurationItemStatus::Ok)
            .resource_type(ResourceType::from("AWS::EC2::SecurityGroup"))
            .resource_id("sg-1")
            .tags("Owner", "ops")
            .relationships(
                aws_sdk_config::types::Relationship::builder()
                    .resource_type(ResourceType::from("AWS::EC2::VPC"))
                    .resource_id("vpc-1")
                    .relationship_name("Is contained in Vpc")
                    .build(),
            )
            .configuration(r#"{"groupName":"web","ipPermissions":[]}"#)
            .supplementary_configuration("X", r#"{"a":1}"#)
            .build();
        let item = ConfigurationItem::from_value(&item_json(&ci)).unwrap();
        assert_eq!(item.resource_id, "sg-1");
        assert_eq!(item.account_id.as_deref(), Some("123456789012"));
        assert_eq!(item.configuration["groupName"], "web");
        assert_eq!(item.supplementary_configuration["X"]["a"], 1);
        assert_eq!(item.tags["Owner"], "ops");
        assert_eq!(
            item.relationships[0].name.as_deref(),
            Some("Is contained in Vpc")
        );
        assert_eq!(item.capture_time.unwrap().timestamp(), 1_700_000_000);
    }

    #[test]
    fn selectors_flatten_to_management_events() {
        use aws_sdk_cloudtrail::types::{AdvancedFieldSelector, ReadWriteType};
        assert_eq!(management_events(&[], &[]), None);
        let basic = EventSelector::builder()
            .read_write_type(ReadWriteType::WriteOnly)
            .include_management_events(true)
            .exclude_management_event_sources("kms.amazonaws.com")
            .build();
        let me = management_events(&[basic], &[]).unwrap();
        assert!(me.include);
        assert_eq!(me.read_write_type, "WriteOnly");
        assert_eq!(me.exclude_sources, vec!["kms.amazonaws.com".to_string()]);
        let data_only = EventSelector::builder()
            .include_management_events(false)
            .build();
        assert!(!management_events(&[data_only], &[]).unwrap().include);
        let field = |f: &str, eq: &[&str], ne: &[&str]| {
            AdvancedFieldSelector::builder()
                .field(f)
                .set_equals(Some(eq.iter().map(|s| s.to_string()).collect()))
                .set_not_equals(Some(ne.iter().map(|s| s.to_string()).collect()))
                .build()
                .unwrap()
        };
        let adv = AdvancedEventSelector::builder()
            .field_selectors(field("eventCategory", &["Management"], &[]))
            .field_selectors(field("readOnly", &["true"], &[]))
            .field_selectors(field("eventSource", &[], &["rdsdata.amazonaws.com"]))
            .build()
            .unwrap();
        let me = management_events(&[], &[adv]).unwrap();
        assert!(me.include);
        assert_eq!(me.read_write_type, "ReadOnly");
        assert_eq!(
            me.exclude_sources,
            vec!["rdsdata.amazonaws.com".to_string()]
        );
    }
}

//! The two EventBridge triggers: `Config Rules Compliance Change` and `AWS API Call via
//! CloudTrail` (trail tampering).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

use crate::layout::{check_account_id, check_region, parse_time};

use super::cause::Cause;

/// Why an event cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EventError {
    #[error("the event is not a JSON object (found {0})")]
    NotAnObject(&'static str),
    #[error("the event has no detail-type: expected an EventBridge event")]
    NoDetailType,
    #[error("unsupported detail-type {0:?}: expected \"Config Rules Compliance Change\" or \"AWS API Call via CloudTrail\"")]
    UnsupportedDetailType(String),
    #[error("the event's detail has no {0}")]
    Missing(&'static str),
    #[error("the event's {field} is not valid: {reason}")]
    Invalid { field: &'static str, reason: String },
}

/// A Config rule's compliance change for one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceChange {
    pub event_id: Option<String>,
    pub time: Option<DateTime<Utc>>,
    pub config_rule_name: String,
    pub resource_type: String,
    pub resource_id: String,
    pub account_id: String,
    pub region: String,
    /// `NON_COMPLIANT`, `COMPLIANT`, `NOT_APPLICABLE`, `INSUFFICIENT_DATA`.
    pub compliance_type: String,
    pub old_compliance_type: Option<String>,
    /// The rule's annotation: what is wrong.
    pub annotation: Option<String>,
}

/// A CloudTrail API call on a trail (StopLogging, DeleteTrail, UpdateTrail,
/// PutEventSelectors).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrailApiCall {
    pub event_id: Option<String>,
    pub time: Option<DateTime<Utc>>,
    pub event_name: String,
    /// The trail named in the request (name or ARN).
    pub trail: String,
    pub account_id: String,
    pub region: String,
    /// The call itself: who, from where, when.
    pub caller: Cause,
}

/// The API calls that count as tampering with a trail.
pub const TAMPER_EVENTS: &[&str] = &[
    "StopLogging",
    "DeleteTrail",
    "UpdateTrail",
    "PutEventSelectors",
];

/// A parsed trigger (one per invocation: the size difference of the variants does not matter).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type")]
pub enum Trigger {
    #[serde(rename = "ConfigRulesComplianceChange")]
    Compliance(ComplianceChange),
    #[serde(rename = "CloudTrailApiCall")]
    TrailCall(TrailApiCall),
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

fn check_id(field: &'static str, id: &str) -> Result<(), EventError> {
    if id.len() > 1024 || id.chars().any(char::is_control) {
        return Err(EventError::Invalid {
            field,
            reason: "longer than 1024 characters or has control characters".into(),
        });
    }
    Ok(())
}

fn account_region(
    event: &Value,
    detail: &Value,
    acct_path: &[&str],
    region_path: &[&str],
) -> Result<(String, String), EventError> {
    let account = s(detail, acct_path)
        .or_else(|| s(event, &["account"]))
        .ok_or(EventError::Missing("account id"))?;
    check_account_id(account).map_err(|e| EventError::Invalid {
        field: "account id",
        reason: e.to_string(),
    })?;
    let region = s(detail, region_path)
        .or_else(|| s(event, &["region"]))
        .ok_or(EventError::Missing("region"))?;
    check_region(region).map_err(|e| EventError::Invalid {
        field: "region",
        reason: e.to_string(),
    })?;
    Ok((account.to_string(), region.to_string()))
}

/// Parses an EventBridge event into a trigger.
pub fn parse_event(event: &Value) -> Result<Trigger, EventError> {
    if !event.is_object() {
        return Err(EventError::NotAnObject(kind(event)));
    }
    let detail_type = s(event, &["detail-type"]).ok_or(EventError::NoDetailType)?;
    let detail = event
        .get("detail")
        .filter(|d| d.is_object())
        .ok_or(EventError::Missing("detail object"))?;
    let event_id = s(event, &["id"]).map(str::to_string);
    let time = s(event, &["time"]).and_then(parse_time);
    match detail_type {
        "Config Rules Compliance Change" => {
            let rule =
                s(detail, &["configRuleName"]).ok_or(EventError::Missing("configRuleName"))?;
            let qualifier = [
                "newEvaluationResult",
                "evaluationResultIdentifier",
                "evaluationResultQualifier",
            ];
            let q = |k: &str| {
                let mut p: Vec<&str> = qualifier.to_vec();
                p.push(k);
                s(detail, &p).map(str::to_string)
            };
            let resource_type = s(detail, &["resourceType"])
                .map(str::to_string)
                .or_else(|| q("resourceType"))
                .ok_or(EventError::Missing("resourceType"))?;
            let resource_id = s(detail, &["resourceId"])
                .map(str::to_string)
                .or_else(|| q("resourceId"))
                .ok_or(EventError::Missing("resourceId"))?;
            check_id("resourceId", &resource_id)?;
            check_id("resourceType", &resource_type)?;
            let compliance_type = s(detail, &["newEvaluationResult", "complianceType"])
                .ok_or(EventError::Missing("newEvaluationResult.complianceType"))?;
            let (account_id, region) =
                account_region(event, detail, &["awsAccountId"], &["awsRegion"])?;
            Ok(Trigger::Compliance(ComplianceChange {
                event_id,
                time,
                config_rule_name: rule.to_string(),
                resource_type,
                resource_id,
                account_id,
                region,
                compliance_type: compliance_type.to_string(),
                old_compliance_type: s(detail, &["oldEvaluationResult", "complianceType"])
                    .map(str::to_string),
                annotation: s(detail, &["newEvaluationResult", "annotation"]).map(str::to_string),
            }))
        }
        "AWS API Call via CloudTrail" => {
            let source = s(detail, &["eventSource"]).ok_or(EventError::Missing("eventSource"))?;
            let name = s(detail, &["eventName"]).ok_or(EventError::Missing("eventName"))?;
            if source != "cloudtrail.amazonaws.com" || !TAMPER_EVENTS.contains(&name) {
                return Err(EventError::Invalid {
                    field: "eventName",
                    reason: format!(
                        "{source} {name} is not one of the trail calls handled ({})",
                        TAMPER_EVENTS.join(", ")
                    ),
                });
            }
            let trail = s(detail, &["requestParameters", "name"])
                .or_else(|| s(detail, &["requestParameters", "trailName"]))
                .ok_or(EventError::Missing("requestParameters.name (the trail)"))?;
            check_id("trail name", trail)?;
            let (account_id, region) =
                account_region(event, detail, &["recipientAccountId"], &["awsRegion"])?;
            Ok(Trigger::TrailCall(TrailApiCall {
                event_id,
                time: time.or_else(|| s(detail, &["eventTime"]).and_then(parse_time)),
                event_name: name.to_string(),
                trail: trail.to_string(),
                account_id,
                region,
                caller: Cause::from_record(detail, None),
            }))
        }
        other => Err(EventError::UnsupportedDetailType(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn kit(name: &str) -> Value {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data/events/eventbridge")
            .join(name);
        match std::fs::read_to_string(&p) {
            Ok(t) => serde_json::from_str(&t).unwrap(),
            Err(_) => Value::Null,
        }
    }

    #[test]
    fn reference_compliance_events() {
        let v = kit("config-rules-compliance-change-NON_COMPLIANT-annotation-no-old-result.json");
        if v.is_null() {
            return; // reference kit not next to the clone
        }
        let Trigger::Compliance(c) = parse_event(&v).unwrap() else {
            panic!()
        };
        assert_eq!(
            c.config_rule_name,
            "cloudwatch-log-group-encrypted-conformance-pack-6cruwvtg2"
        );
        assert_eq!(c.resource_type, "AWS::Logs::LogGroup");
        assert_eq!(c.compliance_type, "NON_COMPLIANT");
        assert_eq!(
            c.annotation.as_deref(),
            Some("This log group is not encrypted.")
        );
        let v = kit("config-rules-compliance-change-NON_COMPLIANT-with-old-result.json");
        let Trigger::Compliance(c) = parse_event(&v).unwrap() else {
            panic!()
        };
        assert_eq!(c.old_compliance_type.as_deref(), Some("COMPLIANT"));
        assert_eq!(c.account_id, "477575873490");
        let v = kit("aws-api-call-via-cloudtrail-s3-CreateBucket.json");
        assert!(matches!(
            parse_event(&v),
            Err(EventError::Invalid {
                field: "eventName",
                ..
            })
        ));
    }

    #[test]
    fn trail_call() {
        let v = json!({
            "detail-type": "AWS API Call via CloudTrail", "account": "123456789012", "region": "us-east-1",
            "detail": {"eventSource": "cloudtrail.amazonaws.com", "eventName": "PutEventSelectors",
                "eventTime": "2024-01-01T00:00:00Z", "sourceIPAddress": "198.51.100.7",
                "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/mallory", "userName": "mallory"},
                "requestParameters": {"trailName": "tw"}}
        });
        let Trigger::TrailCall(c) = parse_event(&v).unwrap() else {
            panic!()
        };
        assert_eq!(c.trail, "tw");
        assert_eq!(
            c.caller.principal_arn.as_deref(),
            Some("arn:aws:iam::123456789012:user/mallory")
        );
        assert_eq!(c.caller.source_ip_address.as_deref(), Some("198.51.100.7"));
    }

    #[test]
    fn malformed() {
        assert_eq!(
            parse_event(&json!([1])).unwrap_err(),
            EventError::NotAnObject("an array")
        );
        assert_eq!(
            parse_event(&json!({})).unwrap_err(),
            EventError::NoDetailType
        );
        assert!(matches!(
            parse_event(&json!({"detail-type": "Scheduled Event", "detail": {}})).unwrap_err(),
            EventError::UnsupportedDetailType(_)
        ));
        let e = parse_event(&json!({"detail-type": "Config Rules Compliance Change", "detail": {"configRuleName": "r"}}))
            .unwrap_err();
        assert_eq!(e.to_string(), "the event's detail has no resourceType");
        let e = parse_event(&json!({"detail-type": "Config Rules Compliance Change", "account": "../../x", "detail": {
            "configRuleName": "r", "resourceType": "AWS::S3::Bucket", "resourceId": "b",
            "newEvaluationResult": {"complianceType": "NON_COMPLIANT"}, "awsRegion": "us-east-1"}}))
        .unwrap_err();
        assert!(e.to_string().contains("account id"), "{e}");
    }
}

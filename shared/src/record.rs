//! CloudTrail records as they arrive: the raw JSON bytes are kept untouched (every field survives,
//! known or not) and only the few fields delivery needs are read.
//!
//! Accepted input shapes (one SQS message body, one CLI input, one subscription message):
//! - an EventBridge event (`detail-type` + `detail`, `detail` is the record);
//! - a bare CloudTrail record;
//! - a JSON array of records;
//! - a CloudTrail log file body `{"Records":[...]}`;
//! - any of those wrapped in an SNS notification (`{"Type":"Notification","Message":"..."}`).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use thiserror::Error;

use crate::layout::{check_account_id, check_region, parse_time};
use chrono::{DateTime, Utc};

/// Why a record or message body could not be used.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RecordError {
    #[error("body is not valid JSON: {0}")]
    NotJson(String),
    #[error("body is JSON but not an object or array (found {0})")]
    NotObjectOrArray(&'static str),
    #[error("record #{index} is not a JSON object (found {found})")]
    NotAnObject { index: usize, found: &'static str },
    #[error("record #{index}: {reason}")]
    Invalid { index: usize, reason: String },
    #[error("SNS notification has no string Message")]
    BadSnsEnvelope,
    #[error("EventBridge event has no detail object")]
    BadEventBridgeEnvelope,
}

/// Fields read from a record (everything else stays in the raw bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMeta {
    pub event_time: DateTime<Utc>,
    pub account_id: String,
    pub region: String,
    pub event_source: Option<String>,
    pub read_only: Option<bool>,
    /// `Management`, `Data`, `Insight`, ... (from `eventCategory`, else `managementEvent`).
    pub category: EventCategory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventCategory {
    Management,
    Data,
    Insight,
    NetworkActivity,
}

/// One record: its exact bytes and the fields delivery needs.
#[derive(Debug, Clone)]
pub struct Record {
    pub raw: Box<RawValue>,
    pub meta: RecordMeta,
}

#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow, rename = "eventTime")]
    event_time: Option<Cow<'a, str>>,
    /// Logstash/ELK exports move the time here (and null `eventTime`).
    #[serde(borrow, rename = "@timestamp")]
    at_timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "recipientAccountId")]
    recipient_account_id: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "awsRegion")]
    aws_region: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "eventSource")]
    event_source: Option<Cow<'a, str>>,
    #[serde(rename = "readOnly")]
    read_only: Option<serde_json::Value>,
    #[serde(rename = "managementEvent")]
    management_event: Option<bool>,
    #[serde(borrow, rename = "eventCategory")]
    event_category: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "userIdentity")]
    user_identity: Option<PeekIdentity<'a>>,
}

#[derive(Deserialize)]
struct PeekIdentity<'a> {
    #[serde(borrow, rename = "accountId")]
    account_id: Option<Cow<'a, str>>,
}

/// Context from an envelope (EventBridge `account`/`region`) used when a record lacks them.
#[derive(Debug, Default, Clone)]
pub struct EnvelopeHint {
    pub account: Option<String>,
    pub region: Option<String>,
}

impl Record {
    /// Reads the delivery fields of one record. `index` names the record in errors.
    pub fn from_raw(
        raw: Box<RawValue>,
        index: usize,
        hint: &EnvelopeHint,
    ) -> Result<Record, RecordError> {
        let first = raw.get().as_bytes().first().copied();
        if first != Some(b'{') {
            return Err(RecordError::NotAnObject {
                index,
                found: kind_of_raw(raw.get()),
            });
        }
        let peek: Peek = serde_json::from_str(raw.get()).map_err(|e| RecordError::Invalid {
            index,
            reason: format!("unreadable field: {e}"),
        })?;
        let invalid = |reason: String| RecordError::Invalid { index, reason };
        let event_time = peek
            .event_time
            .as_deref()
            .or(peek.at_timestamp.as_deref())
            .ok_or_else(|| invalid("missing eventTime".into()))?;
        let event_time = parse_time(event_time)
            .ok_or_else(|| invalid(format!("eventTime {event_time:?} is not a timestamp")))?;
        let account = peek
            .recipient_account_id
            .as_deref()
            .map(str::to_string)
            .or_else(|| hint.account.clone())
            .or_else(|| {
                peek.user_identity
                    .as_ref()
                    .and_then(|u| u.account_id.as_deref().map(str::to_string))
            })
            .ok_or_else(|| invalid("missing recipientAccountId".into()))?;
        check_account_id(&account).map_err(|e| invalid(e.to_string()))?;
        let region = peek
            .aws_region
            .as_deref()
            .map(str::to_string)
            .or_else(|| hint.region.clone())
            .ok_or_else(|| invalid("missing awsRegion".into()))?;
        check_region(&region).map_err(|e| invalid(e.to_string()))?;
        let category = match peek.event_category.as_deref() {
            Some("Data") => EventCategory::Data,
            Some("Insight") => EventCategory::Insight,
            Some("NetworkActivity") => EventCategory::NetworkActivity,
            Some(_) => EventCategory::Management,
            None => match peek.management_event {
                Some(false) => EventCategory::Data,
                _ => EventCategory::Management,
            },
        };
        let read_only = match &peek.read_only {
            Some(serde_json::Value::Bool(b)) => Some(*b),
            Some(serde_json::Value::String(s)) => match s.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        };
        let meta = RecordMeta {
            event_time,
            account_id: account,
            region,
            event_source: peek.event_source.map(Cow::into_owned),
            read_only,
            category,
        };
        Ok(Record { raw, meta })
    }
}

fn kind_of_raw(s: &str) -> &'static str {
    match s.as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't') | Some(b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// What one message body held: the usable records and, for every element that could not be
/// used, the reason (the body itself is kept by the caller, so nothing is lost).
#[derive(Debug, Default)]
pub struct ParsedBody {
    pub records: Vec<Record>,
    pub rejected: Vec<RecordError>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "detail-type")]
    detail_type: Option<&'a RawValue>,
    #[serde(borrow)]
    detail: Option<&'a RawValue>,
    #[serde(borrow)]
    account: Option<Cow<'a, str>>,
    #[serde(borrow)]
    region: Option<Cow<'a, str>>,
    #[serde(rename = "Records", borrow)]
    records: Option<&'a RawValue>,
    #[serde(rename = "Type", borrow)]
    sns_type: Option<Cow<'a, str>>,
    #[serde(rename = "Message", borrow)]
    sns_message: Option<Cow<'a, str>>,
    #[serde(rename = "TopicArn")]
    topic_arn: Option<&'a RawValue>,
}

/// Parses one message body in any of the accepted shapes.
pub fn parse_body(body: &str) -> Result<ParsedBody, RecordError> {
    parse_body_depth(body, 0)
}

fn parse_body_depth(body: &str, depth: u8) -> Result<ParsedBody, RecordError> {
    let trimmed = body.trim_start();
    match trimmed.as_bytes().first() {
        Some(b'[') => {
            let items: Vec<Box<RawValue>> =
                serde_json::from_str(body).map_err(|e| RecordError::NotJson(e.to_string()))?;
            Ok(collect(items, &EnvelopeHint::default()))
        }
        Some(b'{') => {
            // Deserializing the envelope checks the whole body's syntax (skipped fields
            // included), so a truncated or malformed body is reported here, in one pass.
            let env: Envelope =
                serde_json::from_str(body).map_err(|e| RecordError::NotJson(e.to_string()))?;
            if env.sns_type.as_deref() == Some("Notification") && env.topic_arn.is_some() {
                let msg = env.sns_message.ok_or(RecordError::BadSnsEnvelope)?;
                if depth > 2 {
                    return Err(RecordError::BadSnsEnvelope);
                }
                return parse_body_depth(&msg, depth + 1);
            }
            if env.detail_type.is_some() {
                let detail = env.detail.ok_or(RecordError::BadEventBridgeEnvelope)?;
                let hint = EnvelopeHint {
                    account: env.account.map(Cow::into_owned),
                    region: env.region.map(Cow::into_owned),
                };
                let raw = detail.to_owned();
                return Ok(collect(vec![raw], &hint));
            }
            if let Some(records) = env.records {
                let items: Vec<Box<RawValue>> = serde_json::from_str(records.get())
                    .map_err(|e| RecordError::NotJson(format!("Records is not an array: {e}")))?;
                return Ok(collect(items, &EnvelopeHint::default()));
            }
            let whole = RawValue::from_string(body.trim().to_string())
                .map_err(|e| RecordError::NotJson(e.to_string()))?;
            Ok(collect(vec![whole], &EnvelopeHint::default()))
        }
        None => Err(RecordError::NotJson("empty body".into())),
        Some(_) => match serde_json::from_str::<serde_json::Value>(body) {
            Ok(v) => Err(RecordError::NotObjectOrArray(match v {
                serde_json::Value::String(_) => "a string",
                serde_json::Value::Bool(_) => "a boolean",
                serde_json::Value::Null => "null",
                _ => "a number",
            })),
            Err(e) => Err(RecordError::NotJson(e.to_string())),
        },
    }
}

fn collect(items: Vec<Box<RawValue>>, hint: &EnvelopeHint) -> ParsedBody {
    let mut out = ParsedBody::default();
    for (i, raw) in items.into_iter().enumerate() {
        match Record::from_raw(raw, i, hint) {
            Ok(r) => out.records.push(r),
            Err(e) => out.rejected.push(e),
        }
    }
    out
}

/// Parses NDJSON: one body per non-empty line (each line may itself be any accepted shape).
pub fn parse_ndjson(text: &str) -> Result<ParsedBody, RecordError> {
    let mut out = ParsedBody::default();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_body(line) {
            Ok(p) => {
                out.records.extend(p.records);
                out.rejected.extend(p.rejected);
            }
            Err(e) => out.rejected.push(RecordError::Invalid {
                index: n,
                reason: format!("line {}: {e}", n + 1),
            }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REC: &str = r#"{"eventVersion":"1.08","eventTime":"2023-07-10T11:45:00Z","awsRegion":"us-east-1","recipientAccountId":"218007301253","eventName":"ListBuckets","eventSource":"s3.amazonaws.com","readOnly":true,"unknownField":{"nested":[1,2,{"x":null}]}}"#;

    #[test]
    fn all_shapes_parse() {
        let eb = format!(
            r#"{{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","account":"218007301253","region":"us-east-1","time":"2023-07-10T11:45:00Z","detail":{REC}}}"#
        );
        for body in [
            REC.to_string(),
            format!("[{REC},{REC}]"),
            format!(r#"{{"Records":[{REC}]}}"#),
            eb.clone(),
        ] {
            let p = parse_body(&body).unwrap();
            assert!(p.rejected.is_empty(), "{body}");
            assert!(!p.records.is_empty());
            assert_eq!(p.records[0].raw.get(), REC, "record bytes preserved");
            assert_eq!(p.records[0].meta.account_id, "218007301253");
            assert_eq!(p.records[0].meta.read_only, Some(true));
        }
        let sns = serde_json::json!({"Type":"Notification","TopicArn":"arn:aws:sns:us-east-1:1:t","Message": eb});
        let p = parse_body(&sns.to_string()).unwrap();
        assert_eq!(p.records.len(), 1);
    }

    #[test]
    fn eventbridge_envelope_supplies_missing_account_and_region() {
        let body = r#"{"detail-type":"AWS Console Sign In via CloudTrail","account":"111122223333","region":"eu-west-1","detail":{"eventTime":"2023-07-10T11:45:00Z","eventName":"ConsoleLogin"}}"#;
        let p = parse_body(body).unwrap();
        assert_eq!(p.records[0].meta.account_id, "111122223333");
        assert_eq!(p.records[0].meta.region, "eu-west-1");
    }

    #[test]
    fn bad_bodies_are_reported() {
        assert!(matches!(
            parse_body("not json"),
            Err(RecordError::NotJson(_))
        ));
        assert!(matches!(parse_body(""), Err(RecordError::NotJson(_))));
        assert!(matches!(
            parse_body("42"),
            Err(RecordError::NotObjectOrArray(_))
        ));
        assert!(matches!(
            parse_body(&REC[..40]),
            Err(RecordError::NotJson(_))
        ));
        let p = parse_body(&format!(r#"[{REC}, 5, "x", {{"eventTime":"nope"}}, {{"eventTime":"2023-07-10T11:45:00Z","awsRegion":"../../x","recipientAccountId":"218007301253"}}]"#)).unwrap();
        assert_eq!(p.records.len(), 1);
        assert_eq!(p.rejected.len(), 4);
        assert!(p.rejected[0]
            .to_string()
            .contains("record #1 is not a JSON object"));
        assert!(p.rejected[3].to_string().contains("invalid region"));
    }

    #[test]
    fn missing_optional_fields_are_fine() {
        let r = r#"{"eventTime":"2023-07-10T11:45:00Z","awsRegion":"us-east-1","recipientAccountId":"218007301253"}"#;
        let p = parse_body(r).unwrap();
        assert_eq!(p.records.len(), 1);
        assert_eq!(p.records[0].meta.event_source, None);
    }
}

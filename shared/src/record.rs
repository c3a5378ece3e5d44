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
        // The bytes were validated when the body was parsed: a fast reader of the top-level
        // members is enough, with serde as the fallback for anything unusual.
        let peek = match fast_peek(raw.get()) {
            Some(p) => p,
            None => serde_json::from_str(raw.get()).map_err(|e| RecordError::Invalid {
                index,
                reason: format!("unreadable field: {e}"),
            })?,
        };
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

/// Reads the delivery fields from the top level of a valid JSON object without tokenizing the
/// values it does not need (strings are skipped with memchr, containers by depth). Returns None
/// when something needs the full parser (escaped keys or values, unexpected bytes).
fn fast_peek(s: &str) -> Option<Peek<'_>> {
    let b = s.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let mut p = Peek {
        event_time: None,
        at_timestamp: None,
        recipient_account_id: None,
        aws_region: None,
        event_source: None,
        read_only: None,
        management_event: None,
        event_category: None,
        user_identity: None,
    };
    if b.get(i) == Some(&b'}') {
        return Some(p);
    }
    // A repeated field of interest is ambiguous: the full parser reports it.
    let mut seen = 0u16;
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = i + 1 + memchr::memchr2(b'"', b'\\', b.get(i + 1..)?)?;
        if b[key_end] != b'"' {
            return None;
        }
        let key = &s[i + 1..key_end];
        i = skip_ws(b, key_end + 1);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let start = i;
        let end = skip_value(b, i)?;
        let text = &s[start..end];
        let as_str = || -> Option<Option<Cow<'_, str>>> {
            match text.as_bytes().first() {
                Some(b'"') if !text.contains('\\') => {
                    Some(Some(Cow::Borrowed(&text[1..text.len() - 1])))
                }
                Some(b'"') => serde_json::from_str::<String>(text)
                    .ok()
                    .map(|v| Some(Cow::Owned(v))),
                Some(b'n') => Some(None),
                _ => None,
            }
        };
        let bit = match key {
            "eventTime" => 1,
            "@timestamp" => 2,
            "recipientAccountId" => 4,
            "awsRegion" => 8,
            "eventSource" => 16,
            "eventCategory" => 32,
            "readOnly" => 64,
            "managementEvent" => 128,
            "userIdentity" => 256,
            _ => 0,
        };
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        match key {
            "eventTime" => p.event_time = as_str()?,
            "@timestamp" => p.at_timestamp = as_str()?,
            "recipientAccountId" => p.recipient_account_id = as_str()?,
            "awsRegion" => p.aws_region = as_str()?,
            "eventSource" => p.event_source = as_str()?,
            "eventCategory" => p.event_category = as_str()?,
            "readOnly" => p.read_only = serde_json::from_str(text).ok()?,
            "managementEvent" => p.management_event = serde_json::from_str(text).ok()?,
            "userIdentity" => p.user_identity = serde_json::from_str(text).ok()?,
            _ => {}
        }
        i = skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return Some(p),
            _ => return None,
        }
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        i += 1;
    }
    i
}

/// The end of the (valid) JSON value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
            {
                j += 1;
            }
            Some(j)
        }
    }
}

/// The index just past the closing quote of the string starting at `i`.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        let k = j + memchr::memchr2(b'"', b'\\', b.get(j..)?)?;
        if b[k] == b'"' {
            return Some(k + 1);
        }
        j = k + 2;
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
    fn fast_reader_agrees_with_serde() {
        let samples = [
            REC.to_string(),
            r#"{"eventTime" : "2023-07-10T11:45:00Z" , "a":{"b":["}",{"c":"]\\\"{"}]},"awsRegion":"us-east-1","recipientAccountId":"218007301253","readOnly":"true","x":[1,[2,[3]]],"eventSource":"s\u0033.amazonaws.com"}"#.to_string(),
            r#"{"eventTime":"2023-07-10T11:45:00Z","awsRegion":"eu-west-1","userIdentity":{"accountId":"111122223333"},"managementEvent":false,"eventCategory":null}"#.to_string(),
            r#"{}"#.to_string(),
        ];
        for s in samples {
            let fast = fast_peek(&s).expect("fast path");
            let slow: Peek = serde_json::from_str(&s).unwrap();
            assert_eq!(fast.event_time, slow.event_time, "{s}");
            assert_eq!(fast.aws_region, slow.aws_region, "{s}");
            assert_eq!(fast.recipient_account_id, slow.recipient_account_id, "{s}");
            assert_eq!(fast.event_source, slow.event_source, "{s}");
            assert_eq!(fast.read_only, slow.read_only, "{s}");
            assert_eq!(fast.management_event, slow.management_event, "{s}");
            assert_eq!(fast.event_category, slow.event_category, "{s}");
            assert_eq!(
                fast.user_identity.and_then(|u| u.account_id),
                slow.user_identity.and_then(|u| u.account_id),
                "{s}"
            );
        }
        // Escaped keys and repeated fields take the full parser (which rejects the latter).
        assert!(fast_peek(r#"{"event\u0054ime":"x"}"#).is_none());
        let dup = r#"{"eventTime":"2023-07-10T11:45:00Z","awsRegion":"us-east-1","awsRegion":"eu-west-1","recipientAccountId":"218007301253"}"#;
        assert!(fast_peek(dup).is_none());
        assert!(parse_body(dup).unwrap().rejected[0]
            .to_string()
            .contains("duplicate field"));
    }

    #[test]
    fn missing_optional_fields_are_fine() {
        let r = r#"{"eventTime":"2023-07-10T11:45:00Z","awsRegion":"us-east-1","recipientAccountId":"218007301253"}"#;
        let p = parse_body(r).unwrap();
        assert_eq!(p.records.len(), 1);
        assert_eq!(p.records[0].meta.event_source, None);
    }
}

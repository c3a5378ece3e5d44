//! Log delivery: SQS messages (or CLI inputs) in, CloudTrail log files out.
//!
//! One file per account/region per batch, gzip of `{"Records":[...]}` with every record's
//! original bytes. The key's timestamp and unique string are derived from the batch (message ids
//! and send times), and the gzip is deterministic, so a retried batch writes the same key with
//! the same bytes; writes are create-only, so a retry can never create a second copy.
//! A message that cannot be parsed is written as-is to a quarantine key (nothing is lost) and is
//! not retried; a message whose file could not be written is reported for retry.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use thiserror::Error;

use crate::gz;
use crate::layout::{LayoutError, TrailLocation};
use crate::record::{parse_body, EventCategory, Record, RecordError};
use crate::store::{ObjectStore, Put, StoreError};

/// Which events are delivered, as CloudTrail's event selectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub read_write: ReadWrite,
    pub include_management: bool,
    pub include_data: bool,
    pub include_insights: bool,
    pub include_network_activity: bool,
    /// Management event sources to exclude (`ExcludeManagementEventSources`).
    pub exclude_sources: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadWrite {
    All,
    ReadOnly,
    WriteOnly,
}

impl Default for Selection {
    fn default() -> Self {
        Self {
            read_write: ReadWrite::All,
            include_management: true,
            include_data: true,
            include_insights: true,
            include_network_activity: true,
            exclude_sources: Vec::new(),
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{name}={value:?} is not valid: {expected}")]
    Invalid {
        name: String,
        value: String,
        expected: &'static str,
    },
    #[error("{0} is required")]
    Missing(&'static str),
    #[error(transparent)]
    Layout(#[from] LayoutError),
}

fn env_bool(
    get: &dyn Fn(&str) -> Option<String>,
    name: &str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(name).as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some("true") | Some("True") | Some("TRUE") => Ok(true),
        Some("false") | Some("False") | Some("FALSE") => Ok(false),
        Some(v) => Err(ConfigError::Invalid {
            name: name.into(),
            value: v.into(),
            expected: "true or false",
        }),
    }
}

impl Selection {
    /// Reads `READ_WRITE_TYPE` (All|ReadOnly|WriteOnly), `INCLUDE_MANAGEMENT_EVENTS`,
    /// `INCLUDE_DATA_EVENTS`, `INCLUDE_INSIGHT_EVENTS`, `INCLUDE_NETWORK_ACTIVITY_EVENTS`
    /// (true|false) and `EXCLUDE_MANAGEMENT_EVENT_SOURCES` (comma-separated).
    pub fn from_env_with(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let read_write = match get("READ_WRITE_TYPE").as_deref().map(str::trim) {
            None | Some("") | Some("All") => ReadWrite::All,
            Some("ReadOnly") => ReadWrite::ReadOnly,
            Some("WriteOnly") => ReadWrite::WriteOnly,
            Some(v) => {
                return Err(ConfigError::Invalid {
                    name: "READ_WRITE_TYPE".into(),
                    value: v.into(),
                    expected: "All, ReadOnly or WriteOnly",
                })
            }
        };
        let exclude_sources = get("EXCLUDE_MANAGEMENT_EVENT_SOURCES")
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        Ok(Self {
            read_write,
            include_management: env_bool(get, "INCLUDE_MANAGEMENT_EVENTS", true)?,
            include_data: env_bool(get, "INCLUDE_DATA_EVENTS", true)?,
            include_insights: env_bool(get, "INCLUDE_INSIGHT_EVENTS", true)?,
            include_network_activity: env_bool(get, "INCLUDE_NETWORK_ACTIVITY_EVENTS", true)?,
            exclude_sources,
        })
    }

    pub fn selects(&self, r: &Record) -> bool {
        let m = &r.meta;
        let category_ok = match m.category {
            EventCategory::Management => {
                self.include_management
                    && !m
                        .event_source
                        .as_deref()
                        .is_some_and(|s| self.exclude_sources.iter().any(|x| x == s))
            }
            EventCategory::Data => self.include_data,
            EventCategory::Insight => return self.include_insights,
            EventCategory::NetworkActivity => return self.include_network_activity,
        };
        category_ok
            && match (self.read_write, m.read_only) {
                (ReadWrite::All, _) => true,
                (ReadWrite::ReadOnly, ro) => ro == Some(true),
                (ReadWrite::WriteOnly, ro) => ro != Some(true),
            }
    }
}

/// Delivery settings.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub location: TrailLocation,
    pub selection: Selection,
    /// KMS key for SSE-KMS; None = SSE-S3 (AES256).
    pub sse_kms_key_id: Option<String>,
    pub gzip_level: u32,
}

impl DeliveryConfig {
    pub fn new(location: TrailLocation) -> Self {
        Self {
            location,
            selection: Selection::default(),
            sse_kms_key_id: None,
            gzip_level: 6,
        }
    }

    /// Reads `TRAIL_BUCKET`, `S3_KEY_PREFIX`, `ORGANIZATION_ID`, `SSE_KMS_KEY_ID`, `GZIP_LEVEL`
    /// and the selection variables.
    pub fn from_env_with(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let location = location_from_env(get)?;
        let gzip_level = match get("GZIP_LEVEL").as_deref().map(str::trim) {
            None | Some("") => 6,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=9).contains(l))
                .ok_or_else(|| ConfigError::Invalid {
                    name: "GZIP_LEVEL".into(),
                    value: v.into(),
                    expected: "a number from 1 to 9",
                })?,
        };
        Ok(Self {
            location,
            selection: Selection::from_env_with(get)?,
            sse_kms_key_id: get("SSE_KMS_KEY_ID").filter(|s| !s.is_empty()),
            gzip_level,
        })
    }
}

/// The trail bucket's location from `TRAIL_BUCKET`, `S3_KEY_PREFIX` and `ORGANIZATION_ID`.
pub fn location_from_env(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<TrailLocation, ConfigError> {
    let bucket = get("TRAIL_BUCKET")
        .filter(|b| !b.is_empty())
        .ok_or(ConfigError::Missing("TRAIL_BUCKET"))?;
    Ok(TrailLocation::new(
        &bucket,
        get("S3_KEY_PREFIX").as_deref(),
        get("ORGANIZATION_ID").as_deref(),
    )?)
}

/// The trail's location and ARN (`TRAIL_ARN`), as the digest signer and validator read them.
pub fn trail_from_env(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(TrailLocation, crate::layout::TrailArn), ConfigError> {
    let arn = get("TRAIL_ARN")
        .filter(|a| !a.is_empty())
        .ok_or(ConfigError::Missing("TRAIL_ARN"))?;
    Ok((
        location_from_env(get)?,
        crate::layout::TrailArn::parse(&arn)?,
    ))
}

/// One input message.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub body: String,
    /// When the message was sent (SQS `SentTimestamp`); the delivery timestamp derives from it.
    pub sent: Option<DateTime<Utc>>,
}

/// The outcome of one batch.
#[derive(Debug, Default, Clone, Serialize)]
pub struct BatchReport {
    /// Message ids to retry (their file could not be written).
    pub failed_message_ids: Vec<String>,
    pub files: Vec<DeliveredFile>,
    /// Message ids quarantined because they could not be parsed (not retried).
    pub quarantined: Vec<QuarantinedMessage>,
    pub records_delivered: usize,
    pub records_filtered: usize,
    pub records_rejected: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeliveredFile {
    pub key: String,
    pub records: usize,
    /// False when the same file had already been written by an earlier attempt.
    pub created: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuarantinedMessage {
    pub message_id: String,
    pub key: String,
    pub reasons: Vec<String>,
}

/// A file ready to upload.
#[derive(Debug, Clone)]
pub struct PreparedFile {
    pub account_id: String,
    pub region: String,
    pub key: String,
    pub gzip: Vec<u8>,
    pub records: usize,
    pub message_ids: Vec<String>,
}

struct Group<'a> {
    entries: Vec<(&'a str, usize, &'a Record)>,
    newest_sent: Option<DateTime<Utc>>,
    newest_event: Option<DateTime<Utc>>,
}

/// Per message: its usable records and the reasons anything in it was rejected.
pub type Parsed = Vec<(Vec<Record>, Vec<String>)>;

/// Parses every message and releases each body as soon as it is parsed, unless something in it
/// was rejected (then the body is kept for the quarantine).
pub fn parse_messages_owned(mut msgs: Vec<Message>) -> (Vec<Message>, Parsed) {
    let parsed = msgs
        .iter_mut()
        .map(|m| {
            let out = match parse_body(&m.body) {
                Ok(p) => (
                    p.records,
                    p.rejected
                        .iter()
                        .map(RecordError::to_string)
                        .collect::<Vec<_>>(),
                ),
                Err(e) => (Vec::new(), vec![e.to_string()]),
            };
            if out.1.is_empty() {
                m.body = String::new();
            }
            out
        })
        .collect();
    (msgs, parsed)
}

/// Parses every message: usable records per message, and per-message rejection reasons.
pub fn parse_messages(msgs: &[Message]) -> Parsed {
    msgs.iter()
        .map(|m| match parse_body(&m.body) {
            Ok(p) => (
                p.records,
                p.rejected.iter().map(RecordError::to_string).collect(),
            ),
            Err(e) => (Vec::new(), vec![e.to_string()]),
        })
        .collect()
}

/// Builds the files for a batch (pure: no I/O). Records are grouped by account and region,
/// ordered by (message id, position) so the bytes do not depend on the order of the batch.
pub fn prepare_files(
    cfg: &DeliveryConfig,
    msgs: &[Message],
    parsed: &[(Vec<Record>, Vec<String>)],
) -> (Vec<PreparedFile>, usize) {
    let mut groups: BTreeMap<(&str, &str), Group> = BTreeMap::new();
    let mut filtered = 0;
    for (m, (records, _)) in msgs.iter().zip(parsed) {
        for (i, r) in records.iter().enumerate() {
            if !cfg.selection.selects(r) {
                filtered += 1;
                continue;
            }
            let g = groups
                .entry((r.meta.account_id.as_str(), r.meta.region.as_str()))
                .or_insert_with(|| Group {
                    entries: Vec::new(),
                    newest_sent: None,
                    newest_event: None,
                });
            g.entries.push((m.id.as_str(), i, r));
            g.newest_sent = g.newest_sent.max(m.sent);
            g.newest_event = g.newest_event.max(Some(r.meta.event_time));
        }
    }
    let mut files = Vec::with_capacity(groups.len());
    for ((account, region), mut g) in groups {
        g.entries.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut h = Sha256::new();
        h.update(account.as_bytes());
        h.update(b"/");
        h.update(region.as_bytes());
        let mut message_ids: Vec<String> = Vec::new();
        for (id, i, _) in &g.entries {
            h.update(b"\n");
            h.update(id.as_bytes());
            h.update(b"#");
            h.update((*i as u64).to_le_bytes());
            if message_ids.last().map(String::as_str) != Some(*id) {
                message_ids.push(id.to_string());
            }
        }
        let unique = base62_16(&h.finalize());
        let delivered = g
            .newest_sent
            .or(g.newest_event)
            .unwrap_or_else(|| Utc.timestamp_opt(0, 0).single().unwrap_or_default());
        let key = cfg.location.log_key(account, region, delivered, &unique);
        // Streamed into the encoder: no whole-file JSON buffer.
        let total: usize = g
            .entries
            .iter()
            .map(|(_, _, r)| r.raw.get().len() + 1)
            .sum();
        let mut enc = gz::Encoder::new(total / 8 + 64, cfg.gzip_level);
        enc.write(b"{\"Records\":[");
        for (n, (_, _, r)) in g.entries.iter().enumerate() {
            if n > 0 {
                enc.write(b",");
            }
            enc.write(r.raw.get().as_bytes());
        }
        enc.write(b"]}");
        files.push(PreparedFile {
            account_id: account.into(),
            region: region.into(),
            key,
            gzip: enc.finish(),
            records: g.entries.len(),
            message_ids,
        });
    }
    (files, filtered)
}

fn base62_16(hash: &[u8]) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    hash.iter()
        .take(16)
        .map(|b| A[(*b as usize) % 62] as char)
        .collect()
}

fn sanitize_id(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(128)
        .collect();
    if s.is_empty() {
        "unnamed".into()
    } else {
        s
    }
}

/// Delivers one batch: writes the files, quarantines unusable input, reports what to retry.
pub async fn deliver_batch(
    store: &dyn ObjectStore,
    cfg: &DeliveryConfig,
    msgs: &[Message],
    now: DateTime<Utc>,
) -> BatchReport {
    deliver_batch_owned(store, cfg, msgs.to_vec(), now).await
}

/// [`deliver_batch`] taking the messages by value, so each body is freed once parsed (the
/// Lambda function's path: its peak memory stays near one copy of the batch).
pub async fn deliver_batch_owned(
    store: &dyn ObjectStore,
    cfg: &DeliveryConfig,
    msgs: Vec<Message>,
    now: DateTime<Utc>,
) -> BatchReport {
    let (msgs, parsed) = parse_messages_owned(msgs);
    let msgs = &msgs[..];
    let (files, filtered) = prepare_files(cfg, msgs, &parsed);
    // The records now live in the gzip output: keep only what the quarantine needs.
    let parsed: Vec<(usize, Vec<String>)> =
        parsed.into_iter().map(|(r, why)| (r.len(), why)).collect();
    let mut report = BatchReport {
        records_filtered: filtered,
        ..Default::default()
    };
    let mut failed: HashMap<String, ()> = HashMap::new();

    // Quarantine whatever could not be used, keeping the whole original body.
    for (m, (delivered, reasons)) in msgs.iter().zip(&parsed) {
        if reasons.is_empty() {
            continue;
        }
        report.records_rejected += reasons.len();
        let key = format!(
            "{}trailwarden-quarantine/{}/{}.json",
            if cfg.location.prefix.is_empty() {
                String::new()
            } else {
                format!("{}/", cfg.location.prefix)
            },
            now.format("%Y/%m/%d"),
            sanitize_id(&m.id)
        );
        let doc = serde_json::json!({
            "messageId": m.id,
            "reasons": reasons,
            "recordsDelivered": delivered,
            "body": m.body,
        });
        tracing::warn!(message_id = %m.id, reasons = ?reasons, quarantine_key = %key, "unusable input quarantined");
        let put = Put {
            body: serde_json::to_vec(&doc).unwrap_or_default(),
            content_type: Some("application/json".into()),
            ..Default::default()
        };
        match store.put(&cfg.location.bucket, &key, put).await {
            Ok(_) => report.quarantined.push(QuarantinedMessage {
                message_id: m.id.clone(),
                key,
                reasons: reasons.clone(),
            }),
            Err(e) => {
                tracing::error!(message_id = %m.id, error = %e, "quarantine write failed; message will be retried");
                failed.insert(m.id.clone(), ());
            }
        }
    }

    let writes = files.into_iter().map(|f| async move {
        let put = Put {
            body: f.gzip,
            content_type: Some("application/json".into()),
            content_encoding: None,
            if_none_match: true,
            ..Default::default()
        };
        let res = store.put(&cfg.location.bucket, &f.key, put).await;
        (f.key, f.records, f.message_ids, res)
    });
    for (key, records, ids, res) in futures::future::join_all(writes).await {
        match res {
            Ok(_) => {
                report.records_delivered += records;
                report.files.push(DeliveredFile {
                    key,
                    records,
                    created: true,
                });
            }
            Err(StoreError::AlreadyExists { .. }) => {
                report.records_delivered += records;
                report.files.push(DeliveredFile {
                    key,
                    records,
                    created: false,
                });
            }
            Err(e) => {
                tracing::error!(key = %key, error = %e, messages = ids.len(), "log file write failed; its messages will be retried");
                for id in ids {
                    failed.insert(id, ());
                }
            }
        }
    }
    let mut ids: Vec<String> = failed.into_keys().collect();
    ids.sort();
    report.failed_message_ids = ids;
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(account: &str, region: &str, t: &str, extra: &str) -> String {
        format!(
            r#"{{"eventTime":"{t}","awsRegion":"{region}","recipientAccountId":"{account}","eventSource":"s3.amazonaws.com","readOnly":true{extra}}}"#
        )
    }

    #[test]
    fn deterministic_regardless_of_batch_order() {
        let cfg = DeliveryConfig::new(TrailLocation::new("b", None, None).unwrap());
        let a = Message {
            id: "a".into(),
            body: rec("111122223333", "us-east-1", "2024-01-01T00:00:00Z", ""),
            sent: None,
        };
        let b = Message {
            id: "b".into(),
            body: rec("111122223333", "us-east-1", "2024-01-01T00:01:00Z", ""),
            sent: None,
        };
        let c = Message {
            id: "c".into(),
            body: rec("111122223333", "eu-west-1", "2024-01-01T00:01:00Z", ""),
            sent: None,
        };
        let m1 = vec![a.clone(), b.clone(), c.clone()];
        let m2 = vec![c, b, a];
        let (f1, _) = prepare_files(&cfg, &m1, &parse_messages(&m1));
        let (f2, _) = prepare_files(&cfg, &m2, &parse_messages(&m2));
        assert_eq!(f1.len(), 2);
        for (x, y) in f1.iter().zip(&f2) {
            assert_eq!(x.key, y.key);
            assert_eq!(x.gzip, y.gzip);
        }
        assert!(f1[1]
            .key
            .contains("/us-east-1/2024/01/01/111122223333_CloudTrail_us-east-1_20240101T0001Z_"));
    }

    #[test]
    fn selection_filters() {
        let get = |k: &str| match k {
            "READ_WRITE_TYPE" => Some("WriteOnly".to_string()),
            "EXCLUDE_MANAGEMENT_EVENT_SOURCES" => {
                Some("kms.amazonaws.com, rdsdata.amazonaws.com".into())
            }
            _ => None,
        };
        let s = Selection::from_env_with(&get).unwrap();
        let parse = |b: &str| crate::record::parse_body(b).unwrap().records.remove(0);
        assert!(!s.selects(&parse(&rec(
            "111122223333",
            "us-east-1",
            "2024-01-01T00:00:00Z",
            ""
        ))));
        let w =
            rec("111122223333", "us-east-1", "2024-01-01T00:00:00Z", "").replace("true", "false");
        assert!(s.selects(&parse(&w)));
        let kms = w.replace("s3.amazonaws.com", "kms.amazonaws.com");
        assert!(!s.selects(&parse(&kms)));
        let bad = |k: &str| (k == "READ_WRITE_TYPE").then(|| "Sometimes".to_string());
        assert!(Selection::from_env_with(&bad)
            .unwrap_err()
            .to_string()
            .contains("All, ReadOnly or WriteOnly"));
    }
}

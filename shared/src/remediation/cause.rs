//! "Who caused it": the CloudTrail record of the last change to a resource, found in the
//! suite's own trail (its log files in the trail bucket, read through the [`ObjectStore`]).
//!
//! The search reads the newest day folders of the resource's account and region first
//! (`AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/`), newest file first, skipping files whose
//! bytes do not contain the resource id, and keeps the newest record that:
//! names the resource in `requestParameters`, `responseElements` or `resources` (equal, or an
//! ARN ending in `:id` / `/id`); is a change (not read-only, not Get/Describe/List/Head);
//! succeeded (no `errorCode`); happened before the trigger; was not made by the remediator
//! itself (its user agent); and, when the runbook names the calls that cause its violation,
//! is one of them. Account-level resources (`AWS::::Account`) match on the call name alone.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::gz;
use crate::layout::{log_key_time, parse_time, TrailLocation};
use crate::store::{ObjectStore, StoreError};

/// The user agent application name the remediator's AWS clients send (so its own calls can be
/// recognised in the trail).
pub const REMEDIATOR_APP_NAME: &str = "trailwarden-remediator";

/// One CloudTrail record, reduced to who did what, when and from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Cause {
    pub event_time: Option<String>,
    pub event_source: Option<String>,
    pub event_name: Option<String>,
    pub event_id: Option<String>,
    pub aws_region: Option<String>,
    /// `IAMUser`, `AssumedRole`, `Root`, `AWSService`, ...
    pub principal_type: Option<String>,
    /// The caller's ARN (for an assumed role, the session ARN).
    pub principal_arn: Option<String>,
    /// For an assumed role, the role's ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_issuer_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    pub source_ip_address: Option<String>,
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The trail log file the record was found in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_file: Option<String>,
}

fn st(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

impl Cause {
    /// Reads the fields from a CloudTrail record.
    pub fn from_record(r: &Value, log_file: Option<String>) -> Self {
        let issuer = st(
            r,
            &["userIdentity", "sessionContext", "sessionIssuer", "arn"],
        );
        Self {
            event_time: st(r, &["eventTime"]),
            event_source: st(r, &["eventSource"]),
            event_name: st(r, &["eventName"]),
            event_id: st(r, &["eventID"]),
            aws_region: st(r, &["awsRegion"]),
            principal_type: st(r, &["userIdentity", "type"]),
            principal_arn: st(r, &["userIdentity", "arn"])
                .or_else(|| issuer.clone())
                .or_else(|| st(r, &["userIdentity", "invokedBy"])),
            session_issuer_arn: issuer,
            user_name: st(r, &["userIdentity", "userName"]).or_else(|| {
                st(
                    r,
                    &[
                        "userIdentity",
                        "sessionContext",
                        "sessionIssuer",
                        "userName",
                    ],
                )
            }),
            access_key_id: st(r, &["userIdentity", "accessKeyId"]),
            source_ip_address: st(r, &["sourceIPAddress"]),
            user_agent: st(r, &["userAgent"]),
            error_code: st(r, &["errorCode"]),
            log_file,
        }
    }

    /// One line: `PutBucketPolicy by arn:... (IAMUser) from 203.0.113.9 at 2024-...`.
    pub fn sentence(&self) -> String {
        format!(
            "{} by {}{} from {} at {}",
            self.event_name.as_deref().unwrap_or("an API call"),
            self.principal_arn
                .as_deref()
                .unwrap_or("an unknown principal"),
            self.principal_type
                .as_deref()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default(),
            self.source_ip_address
                .as_deref()
                .unwrap_or("an unknown address"),
            self.event_time.as_deref().unwrap_or("an unknown time")
        )
    }
}

/// What to look for.
#[derive(Debug, Clone)]
pub struct CauseQuery<'a> {
    pub account_id: &'a str,
    pub region: &'a str,
    pub resource_type: &'a str,
    pub resource_id: &'a str,
    /// Only these calls count (empty = any change naming the resource).
    pub event_names: &'a [&'a str],
    /// Only records at or before this time.
    pub before: DateTime<Utc>,
    /// Day folders to search, newest first.
    pub lookback_days: u32,
    /// Most log files read.
    pub max_files: usize,
}

/// The result of a search.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CauseLookup {
    pub cause: Option<Cause>,
    pub files_read: usize,
    /// How the search went, in a sentence (always set when nothing was found).
    pub note: String,
}

fn is_read_only(r: &Value) -> bool {
    match r.get("readOnly") {
        Some(Value::Bool(b)) => return *b,
        Some(Value::String(s)) if s == "true" => return true,
        Some(Value::String(s)) if s == "false" => return false,
        _ => {}
    }
    let name = r.get("eventName").and_then(Value::as_str).unwrap_or("");
    ["Get", "Describe", "List", "Head", "Lookup"]
        .iter()
        .any(|p| name.starts_with(p))
}

fn mentions(v: &Value, id: &str, depth: u8) -> bool {
    if depth > 12 {
        return false;
    }
    match v {
        Value::String(s) => {
            s == id
                || (s.len() > id.len()
                    && s.ends_with(id)
                    && matches!(s.as_bytes()[s.len() - id.len() - 1], b':' | b'/')
                    && s.starts_with("arn:"))
        }
        Value::Array(a) => a.iter().any(|x| mentions(x, id, depth + 1)),
        Value::Object(m) => m.values().any(|x| mentions(x, id, depth + 1)),
        _ => false,
    }
}

/// Whether a record is a change to the resource that the query asks about.
pub fn record_matches(r: &Value, q: &CauseQuery<'_>) -> bool {
    if r.get("errorCode").is_some_and(|e| !e.is_null()) || is_read_only(r) {
        return false;
    }
    let name = r.get("eventName").and_then(Value::as_str).unwrap_or("");
    if !q.event_names.is_empty() && !q.event_names.contains(&name) {
        return false;
    }
    if r.get("userAgent")
        .and_then(Value::as_str)
        .is_some_and(|ua| ua.contains(REMEDIATOR_APP_NAME))
    {
        return false;
    }
    let Some(t) = r
        .get("eventTime")
        .and_then(Value::as_str)
        .and_then(parse_time)
    else {
        return false;
    };
    if t > q.before {
        return false;
    }
    if q.resource_type == "AWS::::Account" {
        return !q.event_names.is_empty();
    }
    ["requestParameters", "responseElements", "resources"]
        .iter()
        .filter_map(|k| r.get(*k))
        .any(|v| mentions(v, q.resource_id, 0))
}

/// Searches the trail for the newest change to the resource.
pub async fn find_cause(
    store: &dyn ObjectStore,
    trail: &TrailLocation,
    q: &CauseQuery<'_>,
) -> Result<CauseLookup, StoreError> {
    let region_prefix = trail.log_region_prefix(q.account_id, q.region);
    let needle: &[u8] = if q.resource_type == "AWS::::Account" {
        b""
    } else {
        q.resource_id.as_bytes()
    };
    let finder = memchr::memmem::Finder::new(needle);
    let mut files_read = 0usize;
    let mut best: Option<(DateTime<Utc>, Cause)> = None;
    'days: for d in 0..q.lookback_days.max(1) {
        let day = q.before - Duration::days(i64::from(d));
        let folder = TrailLocation::day_folder(&region_prefix, day);
        let mut files = store.list(&trail.bucket, &folder, None).await?;
        files.retain(|f| f.key.ends_with(".json.gz") || f.key.ends_with(".json"));
        files.sort_by(|a, b| b.key.cmp(&a.key));
        for f in files {
            // A file delivered before the best match cannot hold a newer record.
            if let (Some((bt, _)), Some(ft)) = (&best, log_key_time(&f.key)) {
                if ft + Duration::minutes(1) < *bt {
                    break 'days;
                }
            }
            if files_read >= q.max_files {
                break 'days;
            }
            files_read += 1;
            let obj = match store.get(&trail.bucket, &f.key).await {
                Ok(o) => o,
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            };
            let body = if gz::is_gzip(&obj.body) {
                match gz::decompress(&obj.body, 256 << 20) {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!(key = %f.key, error = %e, "unreadable trail log file skipped");
                        continue;
                    }
                }
            } else {
                obj.body
            };
            if !needle.is_empty() && finder.find(&body).is_none() {
                continue;
            }
            let Ok(doc) = serde_json::from_slice::<Value>(&body) else {
                tracing::warn!(key = %f.key, "trail log file is not JSON; skipped");
                continue;
            };
            let Some(records) = doc.get("Records").and_then(Value::as_array) else {
                continue;
            };
            for r in records {
                if !record_matches(r, q) {
                    continue;
                }
                let Some(t) = r
                    .get("eventTime")
                    .and_then(Value::as_str)
                    .and_then(parse_time)
                else {
                    continue;
                };
                if best.as_ref().is_none_or(|(bt, _)| t > *bt) {
                    best = Some((t, Cause::from_record(r, Some(f.key.clone()))));
                }
            }
        }
    }
    let where_ = format!("s3://{}/{region_prefix}", trail.bucket);
    Ok(match best {
        Some((_, c)) => CauseLookup {
            note: format!("last change: {}", c.sentence()),
            cause: Some(c),
            files_read,
        },
        None => CauseLookup {
            cause: None,
            files_read,
            note: format!(
                "no {} found in the last {} day(s) of {where_} ({files_read} file(s) read{})",
                if q.resource_type == "AWS::::Account" {
                    format!("{} call", q.event_names.join(" or "))
                } else {
                    format!("change to {}", q.resource_id)
                },
                q.lookback_days.max(1),
                if files_read >= q.max_files {
                    ", search limit reached"
                } else {
                    ""
                }
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::store::{MemoryStore, Put};

    fn rec(name: &str, time: &str, params: Value, who: &str) -> Value {
        json!({
            "eventVersion": "1.09", "eventTime": time, "eventSource": "s3.amazonaws.com", "eventName": name,
            "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2",
            "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::123456789012:user/{who}"), "userName": who},
            "requestParameters": params, "eventID": format!("{name}-{time}"), "recipientAccountId": "123456789012"
        })
    }

    async fn put(store: &MemoryStore, key: &str, records: Vec<Value>) {
        let body = gz::compress(json!({"Records": records}).to_string().as_bytes(), 6);
        store
            .put(
                "trail",
                key,
                Put {
                    body,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }

    fn q<'a>(id: &'a str, names: &'a [&'a str], before: DateTime<Utc>) -> CauseQuery<'a> {
        CauseQuery {
            account_id: "123456789012",
            region: "us-east-1",
            resource_type: "AWS::S3::Bucket",
            resource_id: id,
            event_names: names,
            before,
            lookback_days: 3,
            max_files: 100,
        }
    }

    #[tokio::test]
    async fn newest_matching_change_wins() {
        let store = MemoryStore::new();
        let loc = TrailLocation::new("trail", Some("audit"), None).unwrap();
        let p = "audit/AWSLogs/123456789012/CloudTrail/us-east-1";
        put(&store, &format!("{p}/2024/05/01/123456789012_CloudTrail_us-east-1_20240501T1000Z_aaaaaaaaaaaaaaaa.json.gz"), vec![
            rec("PutBucketPolicy", "2024-05-01T09:58:00Z", json!({"bucketName": "data"}), "alice"),
            rec("GetBucketPolicy", "2024-05-01T09:59:00Z", json!({"bucketName": "data"}), "reader"),
        ]).await;
        put(&store, &format!("{p}/2024/05/02/123456789012_CloudTrail_us-east-1_20240502T0800Z_bbbbbbbbbbbbbbbb.json.gz"), vec![
            rec("PutBucketPolicy", "2024-05-02T07:58:00Z", json!({"bucketName": "data"}), "mallory"),
            rec("PutBucketPolicy", "2024-05-02T07:59:00Z", json!({"bucketName": "other"}), "bob"),
            {
                let mut r = rec("PutBucketPolicy", "2024-05-02T07:59:30Z", json!({"bucketName": "data"}), "denied");
                r["errorCode"] = json!("AccessDenied");
                r
            },
        ]).await;
        // After the trigger: ignored (the remediator's own fix, typically).
        put(&store, &format!("{p}/2024/05/02/123456789012_CloudTrail_us-east-1_20240502T1200Z_cccccccccccccccc.json.gz"), vec![
            rec("PutBucketPolicy", "2024-05-02T11:58:00Z", json!({"bucketName": "data"}), "later"),
        ]).await;
        let before = Utc.with_ymd_and_hms(2024, 5, 2, 9, 0, 0).unwrap();
        let found = find_cause(&store, &loc, &q("data", &[], before))
            .await
            .unwrap();
        let c = found.cause.unwrap();
        assert_eq!(c.user_name.as_deref(), Some("mallory"));
        assert_eq!(c.source_ip_address.as_deref(), Some("203.0.113.9"));
        assert!(c.log_file.unwrap().contains("20240502T0800Z"));
        // Only the named calls count.
        let found = find_cause(&store, &loc, &q("data", &["DeleteBucketPolicy"], before))
            .await
            .unwrap();
        assert!(found.cause.is_none());
        assert!(found.note.contains("no change to data"), "{}", found.note);
        // Earlier trigger: only the first day's change is before it.
        let before = Utc.with_ymd_and_hms(2024, 5, 1, 23, 0, 0).unwrap();
        let c = find_cause(&store, &loc, &q("data", &[], before))
            .await
            .unwrap()
            .cause
            .unwrap();
        assert_eq!(c.user_name.as_deref(), Some("alice"));
    }

    #[test]
    fn arn_and_own_calls() {
        let before = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        let r = rec(
            "StopLogging",
            "2024-05-02T07:58:00Z",
            json!({"name": "arn:aws:cloudtrail:us-east-1:123456789012:trail/tw"}),
            "m",
        );
        let mut query = q("tw", &[], before);
        query.resource_type = "AWS::CloudTrail::Trail";
        assert!(record_matches(&r, &query));
        assert!(
            !record_matches(&r, &q("w", &[], before)),
            "suffix must follow : or /"
        );
        let mut own = r.clone();
        own["userAgent"] = json!(format!("aws-sdk-rust/1 app/{REMEDIATOR_APP_NAME}"));
        assert!(!record_matches(&own, &query));
    }
}

//! The alert published on an alarm's state change: CloudWatch's alarm notification JSON (the
//! same fields, so existing consumers of CloudWatch alarm messages read it), plus what
//! CloudWatch cannot give: a summary of the CloudTrail records that matched (who, what, where,
//! when), capped to SNS's message size, with secrets removed.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::alarm::{AlarmDefinition, AlarmState, Transition};
use crate::notify::MAX_MESSAGE_BYTES;

/// What a message may use of SNS's limit (a margin is kept for the size estimate).
const MESSAGE_BUDGET: usize = MAX_MESSAGE_BYTES - 2048;
/// Longest string value kept in a record summary (longer ones are cut, with a marker).
pub const MAX_SUMMARY_STRING: usize = 512;
/// Largest serialized `requestParameters` kept in a summary.
pub const MAX_REQUEST_PARAMETERS_BYTES: usize = 4096;
/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Where the alarm lives (for `AlarmArn`, `AWSAccountId`, `Region`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmContext {
    pub region: String,
    pub account_id: String,
    pub partition: String,
}

impl AlarmContext {
    /// From an SNS topic ARN (`arn:<partition>:sns:<region>:<account>:<name>`), falling back to
    /// `region` and an unknown account.
    pub fn from_topic_arn(topic_arn: Option<&str>, region: &str) -> Self {
        let parts: Vec<&str> = topic_arn.unwrap_or("").split(':').collect();
        let ok = parts.len() >= 6 && parts[0] == "arn" && parts[2] == "sns";
        AlarmContext {
            region: region.to_string(),
            account_id: if ok && !parts[4].is_empty() {
                parts[4].to_string()
            } else {
                "000000000000".into()
            },
            partition: if ok && !parts[1].is_empty() {
                parts[1].to_string()
            } else {
                "aws".into()
            },
        }
    }

    /// `arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>`
    pub fn alarm_arn(&self, name: &str) -> String {
        format!(
            "arn:{}:cloudwatch:{}:{}:alarm:{}",
            self.partition, self.region, self.account_id, name
        )
    }
}

/// The long name CloudWatch uses in alarm subjects and messages (`US East (N. Virginia)`).
pub fn region_name(code: &str) -> &str {
    match code {
        "us-east-1" => "US East (N. Virginia)",
        "us-east-2" => "US East (Ohio)",
        "us-west-1" => "US West (N. California)",
        "us-west-2" => "US West (Oregon)",
        "af-south-1" => "Africa (Cape Town)",
        "ap-east-1" => "Asia Pacific (Hong Kong)",
        "ap-south-1" => "Asia Pacific (Mumbai)",
        "ap-south-2" => "Asia Pacific (Hyderabad)",
        "ap-southeast-1" => "Asia Pacific (Singapore)",
        "ap-southeast-2" => "Asia Pacific (Sydney)",
        "ap-southeast-3" => "Asia Pacific (Jakarta)",
        "ap-southeast-4" => "Asia Pacific (Melbourne)",
        "ap-southeast-5" => "Asia Pacific (Malaysia)",
        "ap-southeast-7" => "Asia Pacific (Thailand)",
        "ap-northeast-1" => "Asia Pacific (Tokyo)",
        "ap-northeast-2" => "Asia Pacific (Seoul)",
        "ap-northeast-3" => "Asia Pacific (Osaka)",
        "ca-central-1" => "Canada (Central)",
        "ca-west-1" => "Canada West (Calgary)",
        "eu-central-1" => "EU (Frankfurt)",
        "eu-central-2" => "EU (Zurich)",
        "eu-west-1" => "EU (Ireland)",
        "eu-west-2" => "EU (London)",
        "eu-west-3" => "EU (Paris)",
        "eu-south-1" => "EU (Milan)",
        "eu-south-2" => "EU (Spain)",
        "eu-north-1" => "EU (Stockholm)",
        "il-central-1" => "Israel (Tel Aviv)",
        "me-south-1" => "Middle East (Bahrain)",
        "me-central-1" => "Middle East (UAE)",
        "mx-central-1" => "Mexico (Central)",
        "sa-east-1" => "South America (Sao Paulo)",
        "us-gov-east-1" => "AWS GovCloud (US-East)",
        "us-gov-west-1" => "AWS GovCloud (US-West)",
        "cn-north-1" => "China (Beijing)",
        "cn-northwest-1" => "China (Ningxia)",
        other => other,
    }
}

/// `ALARM: "<name>" in <region long name>` (SNS trims subjects to 100 characters).
pub fn subject(state: AlarmState, alarm: &str, region: &str) -> String {
    format!("{}: \"{}\" in {}", state, alarm, region_name(region))
}

/// CloudWatch's timestamp format in alarm messages: `2025-05-14T01:56:09.539+0000`.
pub fn state_change_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// Is a field of this name likely to carry a secret? (Case-insensitive; `_`/`-` ignored.)
/// Names of identifiers (`secretId`, `secretArn`, `secretName`...) are not secrets.
pub fn is_sensitive_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    const WORDS: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "privatekey",
        "credential",
        "apikey",
        "authorization",
        "cookie",
        "signature",
        "keymaterial",
        "plaintext",
        "userdata",
        "connectionstring",
        "sharedkey",
        "sessionkey",
    ];
    const IDENTIFIERS: &[&str] = &["id", "ids", "arn", "arns", "name", "names", "type"];
    let identifier = IDENTIFIERS.iter().any(|s| k.ends_with(s))
        && ["secret", "token", "credential"]
            .iter()
            .any(|w| k.contains(w));
    WORDS.iter().any(|w| k.contains(w)) && !identifier
}

/// Replaces the values of sensitive fields (see [`is_sensitive_key`]) with `[REDACTED]`,
/// recursively.
pub fn redact(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if is_sensitive_key(k) && !x.is_null() {
                    *x = Value::String(REDACTED.into());
                } else {
                    redact(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact),
        _ => {}
    }
}

fn cut(s: &str) -> Value {
    if s.len() <= MAX_SUMMARY_STRING {
        return Value::String(s.to_string());
    }
    let mut end = MAX_SUMMARY_STRING;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Value::String(format!("{}...[{} bytes cut]", &s[..end], s.len() - end))
}

fn cut_strings(v: &mut Value) {
    match v {
        Value::String(s) if s.len() > MAX_SUMMARY_STRING => *v = cut(s),
        Value::Object(m) => m.values_mut().for_each(cut_strings),
        Value::Array(a) => a.iter_mut().for_each(cut_strings),
        _ => {}
    }
}

/// Who, what, where and when of one CloudTrail record, without secrets: `eventTime`,
/// `eventSource`, `eventName`, `awsRegion`, `sourceIPAddress`, `userAgent`, `userIdentity`
/// (type, arn, accountId, principalId, userName, invokedBy, accessKeyId), `errorCode`,
/// `errorMessage`, the redacted `requestParameters` (cut when large), `eventID`,
/// `recipientAccountId`, and for console sign-ins the result and whether MFA was used.
pub fn summarize_record(r: &Value) -> Value {
    let mut out = Map::new();
    let s = |k: &str| r.get(k).and_then(Value::as_str);
    for k in [
        "eventTime",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
    ] {
        if let Some(v) = s(k) {
            out.insert(k.into(), cut(v));
        }
    }
    if let Some(uid) = r.get("userIdentity").and_then(Value::as_object) {
        let mut u = Map::new();
        for k in [
            "type",
            "arn",
            "accountId",
            "principalId",
            "userName",
            "invokedBy",
            "accessKeyId",
        ] {
            if let Some(v) = uid.get(k).and_then(Value::as_str) {
                u.insert(k.into(), cut(v));
            }
        }
        if let Some(issuer) = uid
            .get("sessionContext")
            .and_then(|c| c.get("sessionIssuer"))
            .and_then(|i| i.get("arn"))
            .and_then(Value::as_str)
        {
            u.insert("sessionIssuerArn".into(), cut(issuer));
        }
        out.insert("userIdentity".into(), Value::Object(u));
    }
    for k in ["errorCode", "errorMessage"] {
        if let Some(v) = s(k) {
            out.insert(k.into(), cut(v));
        }
    }
    if let Some(p) = r.get("requestParameters").filter(|p| !p.is_null()) {
        let mut p = p.clone();
        redact(&mut p);
        cut_strings(&mut p);
        let size = serde_json::to_vec(&p)
            .map(|b| b.len())
            .unwrap_or(usize::MAX);
        if size > MAX_REQUEST_PARAMETERS_BYTES {
            let keys: Vec<Value> = p
                .as_object()
                .map(|m| m.keys().map(|k| Value::String(k.clone())).collect())
                .unwrap_or_default();
            p = json!({ "_cut": format!("{size} bytes"), "_keys": keys });
        }
        out.insert("requestParameters".into(), p);
    }
    if s("eventName") == Some("ConsoleLogin") {
        if let Some(v) = r
            .get("responseElements")
            .and_then(|x| x.get("ConsoleLogin"))
            .and_then(Value::as_str)
        {
            out.insert("consoleLogin".into(), cut(v));
        }
        if let Some(v) = r
            .get("additionalEventData")
            .and_then(|x| x.get("MFAUsed"))
            .and_then(Value::as_str)
        {
            out.insert("mfaUsed".into(), cut(v));
        }
    }
    for k in ["eventID", "recipientAccountId"] {
        if let Some(v) = s(k) {
            out.insert(k.into(), cut(v));
        }
    }
    Value::Object(out)
}

/// The alarm message for a transition, as JSON text under SNS's limit. `records` are record
/// summaries ([`summarize_record`]) in time order; `total` how many matched in all (some may not
/// have been kept). As many records as fit are included; `MatchingRecordsOmitted` says how many
/// were left out. `source` names the log files or payloads counted (the first 20).
pub fn alarm_message(
    def: &AlarmDefinition,
    t: &Transition,
    ctx: &AlarmContext,
    changed_at: DateTime<Utc>,
    records: &[Value],
    total: usize,
    source: &[String],
) -> String {
    let dims: Vec<Value> = def
        .metric
        .dimensions
        .iter()
        .map(|(n, v)| json!({ "value": v, "name": n }))
        .collect();
    let mut m = Map::new();
    m.insert("AlarmName".into(), json!(def.name));
    m.insert("AlarmDescription".into(), json!(def.description));
    m.insert("AWSAccountId".into(), json!(ctx.account_id));
    m.insert("AlarmConfigurationUpdatedTimestamp".into(), Value::Null);
    m.insert("NewStateValue".into(), json!(t.new_state));
    m.insert("NewStateReason".into(), json!(t.reason));
    m.insert(
        "StateChangeTime".into(),
        json!(state_change_time(changed_at)),
    );
    m.insert("Region".into(), json!(region_name(&ctx.region)));
    m.insert("AlarmArn".into(), json!(ctx.alarm_arn(&def.name)));
    m.insert("OldStateValue".into(), json!(t.old_state));
    m.insert("OKActions".into(), json!([]));
    m.insert("AlarmActions".into(), json!([]));
    m.insert("InsufficientDataActions".into(), json!([]));
    m.insert(
        "Trigger".into(),
        json!({
            "MetricName": def.metric.name,
            "Namespace": def.metric.namespace,
            "StatisticType": "Statistic",
            "Statistic": def.statistic.upper(),
            "Unit": null,
            "Dimensions": dims,
            "Period": def.period,
            "EvaluationPeriods": def.evaluation_periods,
            "DatapointsToAlarm": def.datapoints_to_alarm,
            "ComparisonOperator": def.comparison_operator.as_str(),
            "Threshold": def.threshold,
            "TreatMissingData": def.treat_missing_data.as_str(),
            "EvaluateLowSampleCountPercentile": "",
        }),
    );
    m.insert(
        "EvaluatedAt".into(),
        json!(DateTime::<Utc>::from_timestamp_millis(t.evaluated_at_ms)
            .map(state_change_time)
            .unwrap_or_default()),
    );
    const MAX_SOURCES: usize = 20;
    m.insert(
        "Sources".into(),
        json!(source.iter().take(MAX_SOURCES).collect::<Vec<_>>()),
    );
    if source.len() > MAX_SOURCES {
        m.insert("SourcesOmitted".into(), json!(source.len() - MAX_SOURCES));
    }
    m.insert("MatchingRecordsTotal".into(), json!(total));
    // Fill with records while the whole message stays under the budget.
    let base_len = serde_json::to_vec(&Value::Object(m.clone()))
        .map(|b| b.len())
        .unwrap_or(0)
        + 64;
    let mut used = base_len;
    let mut kept = Vec::new();
    for r in records {
        let len = serde_json::to_vec(r).map(|b| b.len()).unwrap_or(usize::MAX);
        if used.saturating_add(len + 1) > MESSAGE_BUDGET {
            break;
        }
        used += len + 1;
        kept.push(r.clone());
    }
    let omitted = total.saturating_sub(kept.len());
    m.insert("MatchingRecordsOmitted".into(), json!(omitted));
    m.insert("MatchingRecords".into(), Value::Array(kept));
    serde_json::to_string(&Value::Object(m)).unwrap_or_default()
}

//! The metric-filter-alarm function's logic: CloudTrail records in (new log files of the trail
//! bucket, or CloudWatch Logs subscription payloads), metric-filter datapoints out (as Embedded
//! Metric Format documents), alarms evaluated ([`crate::alarm`]) and alerts published on their
//! state changes, with a summary of the records that matched ([`message`]).
//!
//! Nothing here stops on bad input: a file that cannot be read, decompressed or parsed, a record
//! that is not JSON or an event of an unknown shape is counted in the [`Report`] and logged, and
//! the rest is processed. Problems a retry can fix (the store or SNS failing) are listed in
//! [`Report::errors`]; the function then fails the invocation so that Lambda retries it, and the
//! alarm states remember which sources they counted, so the retry does not count them twice.

pub mod emf;
pub mod filters;
pub mod message;
pub mod replay;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::alarm::{self, Aggregate, AlarmDefinition, AlarmState, MetricId, NewData, Transition};
use crate::delivery::ConfigError;
use crate::filter::{Extracted, MatchSet, Scratch};
use crate::gz;
use crate::notify::Notifier;
use crate::store::ObjectStore;

pub use emf::{MetricSeries, Series};
pub use filters::{load_filters_file, parse_filters, Engine, FiltersError, UserFilter};
pub use message::AlarmContext;

/// Default limit on a decompressed log file or subscription payload.
pub const DEFAULT_MAX_DECOMPRESSED: u64 = 512 << 20;
/// Record summaries kept per metric and source (the alert holds fewer: it is capped by size).
pub const MAX_SUMMARIES_PER_METRIC: usize = 2000;
/// Attempts to publish one alert.
pub const PUBLISH_ATTEMPTS: u32 = 3;

/// The function's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertingConfig {
    /// Where the alarm states are kept (`TRAIL_BUCKET`).
    pub trail_bucket: String,
    /// Key prefix of the alarm states.
    pub state_prefix: String,
    /// Where alerts go (`ALERT_TOPIC_ARN`); None: alarms are evaluated and logged only.
    pub topic_arn: Option<String>,
    /// Namespace of the CIS metrics (`METRIC_NAMESPACE`).
    pub namespace: String,
    /// User filters (`FILTERS_FILE`).
    pub filters_file: Option<PathBuf>,
    /// Run the 15 CIS filters (`ENABLE_CIS_FILTERS`).
    pub enable_cis: bool,
    /// `AWS_REGION`
    pub region: String,
    /// Limit on decompressed input (`MAX_DECOMPRESSED_BYTES`).
    pub max_decompressed: u64,
}

impl AlertingConfig {
    /// Defaults: CIS filters on in `CISBenchmark`, no topic, no user filters.
    pub fn new(trail_bucket: &str, region: &str) -> Self {
        AlertingConfig {
            trail_bucket: trail_bucket.into(),
            state_prefix: alarm::DEFAULT_STATE_PREFIX.into(),
            topic_arn: None,
            namespace: crate::filter::cis::DEFAULT_NAMESPACE.into(),
            filters_file: None,
            enable_cis: true,
            region: region.into(),
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
        }
    }

    /// Reads `TRAIL_BUCKET` (required), `ALERT_TOPIC_ARN`, `METRIC_NAMESPACE`, `FILTERS_FILE`,
    /// `ENABLE_CIS_FILTERS`, `AWS_REGION` (or `AWS_DEFAULT_REGION`), `STATE_PREFIX` and
    /// `MAX_DECOMPRESSED_BYTES`.
    pub fn from_env_with(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let non_empty = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let bucket = non_empty("TRAIL_BUCKET").ok_or(ConfigError::Missing("TRAIL_BUCKET"))?;
        let region = non_empty("AWS_REGION")
            .or_else(|| non_empty("AWS_DEFAULT_REGION"))
            .ok_or(ConfigError::Missing("AWS_REGION"))?;
        let mut c = AlertingConfig::new(&bucket, &region);
        crate::layout::check_region(&c.region)?;
        c.topic_arn = non_empty("ALERT_TOPIC_ARN");
        if let Some(arn) = &c.topic_arn {
            if !arn.starts_with("arn:") || arn.split(':').nth(2) != Some("sns") {
                return Err(ConfigError::Invalid {
                    name: "ALERT_TOPIC_ARN".into(),
                    value: arn.clone(),
                    expected: "an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)",
                });
            }
        }
        if let Some(ns) = non_empty("METRIC_NAMESPACE") {
            c.namespace = ns;
        }
        c.filters_file = non_empty("FILTERS_FILE").map(PathBuf::from);
        c.enable_cis = match non_empty("ENABLE_CIS_FILTERS").as_deref() {
            None => true,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                return Err(ConfigError::Invalid {
                    name: "ENABLE_CIS_FILTERS".into(),
                    value: v.into(),
                    expected: "true or false",
                })
            }
        };
        if let Some(p) = non_empty("STATE_PREFIX") {
            let p = crate::layout::check_prefix(&p)?;
            c.state_prefix = if p.is_empty() { p } else { format!("{p}/") };
        }
        if let Some(v) = non_empty("MAX_DECOMPRESSED_BYTES") {
            c.max_decompressed =
                v.parse::<u64>()
                    .ok()
                    .filter(|n| *n >= 1024)
                    .ok_or(ConfigError::Invalid {
                        name: "MAX_DECOMPRESSED_BYTES".into(),
                        value: v,
                        expected: "a number of bytes, at least 1024",
                    })?;
        }
        Ok(c)
    }

    /// Compiles the CIS filters (when enabled) and the user filters (when configured).
    pub fn engine(&self) -> Result<Engine, FiltersError> {
        Engine::load(
            self.enable_cis.then_some(self.namespace.as_str()),
            self.filters_file.as_deref(),
        )
    }

    /// Account, partition and region for alarm ARNs and messages.
    pub fn context(&self) -> AlarmContext {
        AlarmContext::from_topic_arn(self.topic_arn.as_deref(), &self.region)
    }
}

/// An input that could not be processed (not retried: it will not get better).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadInput {
    pub source: String,
    pub error: String,
}

/// A state change and whether an alert was published for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransitionReport {
    #[serde(flatten)]
    pub transition: Transition,
    pub notified: bool,
    /// Matching records included in the alert.
    pub records: usize,
}

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Log files and payloads processed.
    pub sources: Vec<String>,
    pub records: usize,
    pub records_not_json: usize,
    /// Records without a readable `eventTime` (stamped with the processing time).
    pub records_without_time: usize,
    /// Matching records per filter name (filters that matched nothing are not listed).
    pub matches: BTreeMap<String, usize>,
    pub datapoints: usize,
    /// Inputs deliberately ignored (digests, other keys, control messages), with the reason.
    pub skipped: Vec<String>,
    pub bad_inputs: Vec<BadInput>,
    /// `alarm: source` pairs already counted by an earlier invocation.
    pub duplicates: Vec<String>,
    pub alarms_evaluated: usize,
    pub transitions: Vec<TransitionReport>,
    pub notifications: usize,
    /// Problems a retry may fix (reading inputs, alarm states, publishing).
    pub errors: Vec<String>,
    pub emf_documents: usize,
    /// The EMF documents, for the caller to write to stdout.
    #[serde(skip)]
    pub emf: Vec<String>,
}

#[derive(Debug, Clone)]
struct Matched {
    minute_ms: i64,
    summary: Value,
}

#[derive(Debug, Default)]
struct SourceData {
    id: String,
    series: MetricSeries,
    /// Per metric: (matching records in all, the summaries kept).
    matched: BTreeMap<MetricId, (usize, Vec<Matched>)>,
    /// Counting for a replay: no record summaries (they only feed alerts), and the matches per
    /// filter and minute in `hits` (only a replay reports them).
    for_replay: bool,
    /// Replay only: matching records per (filter index, minute start ms).
    hits: BTreeMap<(usize, i64), usize>,
}

#[derive(Deserialize)]
struct EventTime {
    #[serde(rename = "eventTime")]
    event_time: Option<String>,
}

/// Accumulates the records of one invocation, per source.
struct Run<'e> {
    engine: &'e Engine,
    scratch: Scratch,
    matches: MatchSet,
    sources: Vec<SourceData>,
    report: Report,
    now_ms: i64,
    /// See [`SourceData::for_replay`].
    for_replay: bool,
}

impl<'e> Run<'e> {
    fn new(engine: &'e Engine, now: DateTime<Utc>) -> Self {
        Run {
            engine,
            scratch: Scratch::default(),
            matches: MatchSet::default(),
            sources: Vec::new(),
            report: Report::default(),
            now_ms: now.timestamp_millis(),
            for_replay: false,
        }
    }

    fn bad(&mut self, source: &str, error: impl std::fmt::Display) {
        tracing::warn!(source, error = %error, "input skipped");
        self.report.bad_inputs.push(BadInput {
            source: source.into(),
            error: error.to_string(),
        });
    }

    /// One log file's bytes (gzip or plain JSON).
    fn add_log_file(&mut self, id: String, name: &str, body: &[u8], max: u64) {
        let data;
        let json: &[u8] = if gz::is_gzip(body) {
            match gz::decompress(body, max) {
                Ok(d) => {
                    data = d;
                    &data
                }
                Err(e) => return self.bad(name, e),
            }
        } else {
            body
        };
        let engine = self.engine;
        let mut src = SourceData {
            id: id.clone(),
            for_replay: self.for_replay,
            ..SourceData::default()
        };
        let mut counts = Report::default();
        let now_ms = self.now_ms;
        let result = engine
            .set()
            .for_each_record(json, &mut self.scratch, |_, record, m| {
                add_record(engine, &mut src, &mut counts, record, m, None, now_ms)
            });
        match result {
            Ok(n) => {
                tracing::debug!(source = name, records = n, "log file read");
                self.merge_counts(counts);
                self.report.sources.push(id);
                self.sources.push(src);
            }
            Err(e) => self.bad(name, format!("{e} (nothing of this file was counted)")),
        }
    }

    /// A CloudWatch Logs subscription payload (`awslogs.data`).
    fn add_subscription(&mut self, data: &str, max: u64) {
        let name = "CloudWatch Logs subscription payload";
        let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let bytes = match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
            Ok(b) => b,
            Err(e) => return self.bad(name, format!("awslogs.data is not base64: {e}")),
        };
        let json = match gz::decompress(&bytes, max) {
            Ok(j) => j,
            Err(e) => return self.bad(name, format!("awslogs.data is not gzip: {e}")),
        };
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct LogsData {
            message_type: String,
            #[serde(default)]
            log_group: String,
            #[serde(default)]
            log_stream: String,
            #[serde(default)]
            log_events: Vec<LogEvent>,
        }
        #[derive(Deserialize)]
        struct LogEvent {
            #[serde(default)]
            id: String,
            timestamp: i64,
            message: String,
        }
        let logs: LogsData = match serde_json::from_slice(&json) {
            Ok(l) => l,
            Err(e) => {
                return self.bad(
                    name,
                    format!("the decoded payload is not CloudWatch Logs data: {e}"),
                )
            }
        };
        if logs.message_type == "CONTROL_MESSAGE" {
            self.report
                .skipped
                .push(format!("{name}: CONTROL_MESSAGE ({})", logs.log_group));
            return;
        }
        if logs.message_type != "DATA_MESSAGE" {
            return self.bad(
                name,
                format!(
                    "messageType {:?}: expected DATA_MESSAGE or CONTROL_MESSAGE",
                    logs.message_type
                ),
            );
        }
        let id = format!(
            "logs:{}/{}#{}..{}+{}",
            logs.log_group,
            logs.log_stream,
            logs.log_events.first().map_or("", |e| e.id.as_str()),
            logs.log_events.last().map_or("", |e| e.id.as_str()),
            logs.log_events.len()
        );
        let engine = self.engine;
        let mut src = SourceData {
            id: id.clone(),
            for_replay: self.for_replay,
            ..SourceData::default()
        };
        let mut counts = Report::default();
        for ev in &logs.log_events {
            let msg = ev.message.as_bytes();
            if serde_json::from_slice::<serde::de::IgnoredAny>(msg).is_err() {
                counts.records_not_json += 1;
            }
            engine
                .set()
                .matches_into(msg, &mut self.scratch, &mut self.matches);
            add_record(
                engine,
                &mut src,
                &mut counts,
                msg,
                &self.matches,
                Some(ev.timestamp),
                self.now_ms,
            );
        }
        if counts.records_not_json > 0 {
            tracing::warn!(
                source = %id,
                count = counts.records_not_json,
                "log events that are not JSON (evaluated as text)"
            );
        }
        self.merge_counts(counts);
        self.report.sources.push(id);
        self.sources.push(src);
    }

    fn merge_counts(&mut self, c: Report) {
        let r = &mut self.report;
        r.records += c.records;
        r.records_not_json += c.records_not_json;
        r.records_without_time += c.records_without_time;
        r.datapoints += c.datapoints;
        for (k, v) in c.matches {
            *r.matches.entry(k).or_default() += v;
        }
    }
}

/// Evaluates one record (whose matches are known) into datapoints and record summaries.
fn add_record(
    engine: &Engine,
    src: &mut SourceData,
    counts: &mut Report,
    record: &[u8],
    m: &MatchSet,
    timestamp_ms: Option<i64>,
    now_ms: i64,
) {
    counts.records += 1;
    let any = m.any();
    if !any && !engine.has_default_values() {
        return;
    }
    let parsed: Option<Value> = if any && !src.for_replay {
        let p = serde_json::from_slice(record).ok();
        if p.is_none() && timestamp_ms.is_none() {
            counts.records_not_json += 1;
        }
        p
    } else {
        None
    };
    let ts = match timestamp_ms {
        Some(t) => t,
        None => {
            let text = match &parsed {
                Some(v) => v
                    .get("eventTime")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                None => serde_json::from_slice::<EventTime>(record)
                    .ok()
                    .and_then(|e| e.event_time),
            };
            match text.as_deref().and_then(crate::layout::parse_time) {
                Some(t) => t.timestamp_millis(),
                None => {
                    counts.records_without_time += 1;
                    now_ms
                }
            }
        }
    };
    let text = String::from_utf8_lossy(record);
    let summary = parsed.as_ref().map(message::summarize_record);
    let mut summarized: Vec<MetricId> = Vec::new();
    for (i, f) in engine.filters().iter().enumerate() {
        let matched = m.contains(i);
        let extracted = match (matched, f.extracts) {
            (false, _) => None,
            (true, false) => Some(Extracted::default()),
            (true, true) => f.filter.pattern().evaluate(&text),
        };
        if extracted.is_some() {
            *counts
                .matches
                .entry(f.filter.definition().filter_name.clone())
                .or_default() += 1;
            if src.for_replay {
                *src.hits.entry((i, ts - ts.rem_euclid(60_000))).or_default() += 1;
            }
        }
        for d in f.filter.datapoints_matched(&text, extracted.as_ref(), ts) {
            counts.datapoints += 1;
            let id = MetricId::new(d.namespace, d.metric_name, d.dimensions);
            src.series
                .entry(id.clone())
                .or_insert_with(|| Series {
                    unit: d.unit.clone(),
                    minutes: BTreeMap::new(),
                })
                .minutes
                .entry(d.timestamp_ms)
                .or_default()
                .push(d.value);
            if extracted.is_some() && !summarized.contains(&id) {
                let entry = src.matched.entry(id.clone()).or_default();
                entry.0 += 1;
                if let Some(s) = &summary {
                    if entry.1.len() < MAX_SUMMARIES_PER_METRIC {
                        entry.1.push(Matched {
                            minute_ms: d.timestamp_ms,
                            summary: s.clone(),
                        });
                    }
                }
                summarized.push(id);
            }
        }
    }
}

/// Is this S3 key a CloudTrail log file? (`.json.gz`, not a digest, not trailwarden's own state
/// or quarantine.)
pub fn is_log_file_key(key: &str) -> Result<(), &'static str> {
    if !key.ends_with(".json.gz") {
        return Err("not a .json.gz log file");
    }
    if key.contains("/CloudTrail-Digest/") || key.contains("_CloudTrail-Digest_") {
        return Err("a digest file");
    }
    if key.starts_with("trailwarden-state/") || key.starts_with("trailwarden-quarantine/") {
        return Err("trailwarden's own object");
    }
    Ok(())
}

/// Decodes an S3 event notification key (`+` is a space, `%XX` a byte, UTF-8).
pub fn decode_s3_key(key: &str) -> Result<String, String> {
    let b = key.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad percent-escape at byte {i} of the key {key:?}"))?;
                out.push(hex);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("the key {key:?} does not decode to UTF-8"))
}

/// The ports and settings the processing needs.
pub struct Alerting<'a> {
    pub store: &'a dyn ObjectStore,
    /// None: alerts are logged, not published.
    pub notifier: Option<&'a dyn Notifier>,
    pub engine: &'a Engine,
    pub config: &'a AlertingConfig,
}

enum Input {
    LogFile { bucket: String, key: String },
    Subscription(String),
}

impl Alerting<'_> {
    /// Dispatches on the event's shape: an S3 event notification (`Records[].s3`, object-created
    /// only), an EventBridge S3 "Object Created" event, or a CloudWatch Logs subscription payload
    /// (`awslogs.data`). Anything else is reported as a bad input.
    pub async fn handle_event(&self, event: &Value, now: DateTime<Utc>) -> Report {
        let mut run = Run::new(self.engine, now);
        let mut inputs = Vec::new();
        if let Some(data) = event.pointer("/awslogs/data") {
            match data.as_str() {
                Some(d) => inputs.push(Input::Subscription(d.to_string())),
                None => run.bad(
                    "CloudWatch Logs subscription payload",
                    "awslogs.data is not a string",
                ),
            }
        } else if let Some(records) = event
            .get("Records")
            .and_then(Value::as_array)
            .filter(|r| r.iter().any(|x| x.get("s3").is_some()))
        {
            for (i, r) in records.iter().enumerate() {
                let name = r.get("eventName").and_then(Value::as_str).unwrap_or("");
                let bucket = r.pointer("/s3/bucket/name").and_then(Value::as_str);
                let key = r.pointer("/s3/object/key").and_then(Value::as_str);
                let (Some(bucket), Some(key)) = (bucket, key) else {
                    run.bad(
                        &format!("S3 event record #{}", i + 1),
                        "no s3.bucket.name or s3.object.key",
                    );
                    continue;
                };
                if !name.starts_with("ObjectCreated:") {
                    run.report.skipped.push(format!(
                        "s3://{bucket}/{key}: event {name:?} is not ObjectCreated"
                    ));
                    continue;
                }
                match decode_s3_key(key) {
                    Ok(key) => inputs.push(Input::LogFile {
                        bucket: bucket.into(),
                        key,
                    }),
                    Err(e) => run.bad(&format!("s3://{bucket}/{key}"), e),
                }
            }
        } else if event.get("source").and_then(Value::as_str) == Some("aws.s3")
            && event.get("detail-type").and_then(Value::as_str) == Some("Object Created")
        {
            match (
                event.pointer("/detail/bucket/name").and_then(Value::as_str),
                event.pointer("/detail/object/key").and_then(Value::as_str),
            ) {
                (Some(b), Some(k)) => inputs.push(Input::LogFile {
                    bucket: b.into(),
                    key: k.into(),
                }),
                _ => run.bad(
                    "EventBridge Object Created event",
                    "no detail.bucket.name or detail.object.key",
                ),
            }
        } else if event.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
            run.report.skipped.push("S3 test event".into());
        } else {
            let keys: Vec<&str> = event
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            run.bad(
                "event",
                format!(
                    "unknown event shape (top-level keys {keys:?}): expected an S3 object-created notification (Records[].s3), an EventBridge S3 Object Created event, or a CloudWatch Logs subscription payload (awslogs.data)"
                ),
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for input in inputs {
            if let Input::LogFile { bucket, key } = &input {
                if !seen.insert((bucket.clone(), key.clone())) {
                    run.report
                        .skipped
                        .push(format!("s3://{bucket}/{key}: listed twice in the event"));
                    continue;
                }
            }
            match input {
                Input::LogFile { bucket, key } => self.read_log_file(&mut run, &bucket, &key).await,
                Input::Subscription(d) => run.add_subscription(&d, self.config.max_decompressed),
            }
        }
        self.finish(run, now).await
    }

    /// Processes one log file of the store.
    pub async fn process_log_file(&self, bucket: &str, key: &str, now: DateTime<Utc>) -> Report {
        let mut run = Run::new(self.engine, now);
        self.read_log_file(&mut run, bucket, key).await;
        self.finish(run, now).await
    }

    /// Processes one CloudWatch Logs subscription payload (the `awslogs.data` string).
    pub async fn process_subscription(&self, data: &str, now: DateTime<Utc>) -> Report {
        let mut run = Run::new(self.engine, now);
        run.add_subscription(data, self.config.max_decompressed);
        self.finish(run, now).await
    }

    async fn read_log_file(&self, run: &mut Run<'_>, bucket: &str, key: &str) {
        let name = format!("s3://{bucket}/{key}");
        if let Err(why) = is_log_file_key(key) {
            run.report.skipped.push(format!("{name}: {why}"));
            return;
        }
        match self.store.get(bucket, key).await {
            Ok(obj) => {
                let id = format!(
                    "{name}#{}",
                    obj.etag.as_deref().unwrap_or("").trim_matches('"')
                );
                run.add_log_file(id, &name, &obj.body, self.config.max_decompressed);
            }
            Err(e) if e.is_not_found() => run.bad(&name, e),
            Err(e) => {
                tracing::error!(source = %name, error = %e, "cannot read the log file");
                run.report.errors.push(e.to_string());
            }
        }
    }

    async fn finish(&self, mut run: Run<'_>, now: DateTime<Utc>) -> Report {
        // Alarms.
        let cfg = self.config;
        let updates = futures::future::join_all(self.engine.alarms().iter().map(|def| {
            let new: Vec<NewData> = run
                .sources
                .iter()
                .filter_map(|s| {
                    let series = s.series.get(&def.metric)?;
                    Some(NewData {
                        source: s.id.clone(),
                        minutes: series
                            .minutes
                            .iter()
                            .filter_map(|(t, v)| Some((*t, Aggregate::of_all(v)?)))
                            .collect(),
                    })
                })
                .collect();
            let key = alarm::state_key(&cfg.state_prefix, &def.name);
            async move {
                let r =
                    alarm::update_alarm(self.store, &cfg.trail_bucket, &key, def, &new, now).await;
                (def, r)
            }
        }))
        .await;
        run.report.alarms_evaluated = updates.len();
        let ctx = cfg.context();
        let mut duplicate_sources = std::collections::BTreeSet::new();
        for (def, result) in updates {
            let u = match result {
                Ok(u) => u,
                Err(e) => {
                    tracing::error!(alarm = %def.name, error = %e, "alarm not updated");
                    run.report.errors.push(e.to_string());
                    continue;
                }
            };
            for d in &u.duplicates {
                duplicate_sources.insert(d.clone());
                tracing::info!(alarm = %def.name, source = %d, "source already counted; skipped");
                run.report.duplicates.push(format!("{}: {d}", def.name));
            }
            let records = records_for(&run.sources, &u.counted, &def.metric);
            let parts = partition_records(def, &u.transitions, records);
            for (t, (recs, total)) in u.transitions.iter().zip(parts) {
                let mut tr = TransitionReport {
                    transition: t.clone(),
                    notified: false,
                    records: 0,
                };
                if t.notifies() {
                    tracing::warn!(
                        alarm = %t.alarm,
                        old = %t.old_state,
                        new = %t.new_state,
                        reason = %t.reason,
                        matching_records = total,
                        "alarm state changed"
                    );
                    let body = message::alarm_message(def, t, &ctx, now, &recs, total, &u.counted);
                    tr.records = serde_json::from_str::<Value>(&body)
                        .ok()
                        .and_then(|v| v["MatchingRecords"].as_array().map(Vec::len))
                        .unwrap_or(0);
                    let subject = message::subject(t.new_state, &def.name, &ctx.region);
                    match self.notifier {
                        Some(n) => match publish(n, &subject, &body).await {
                            Ok(()) => {
                                tr.notified = true;
                                run.report.notifications += 1;
                            }
                            Err(e) => {
                                tracing::error!(alarm = %t.alarm, error = %e, "alert not published");
                                run.report
                                    .errors
                                    .push(format!("alert for {} not published: {e}", t.alarm));
                            }
                        },
                        None => {
                            tracing::warn!(alarm = %t.alarm, "ALERT_TOPIC_ARN is not set: alert not published")
                        }
                    }
                } else {
                    tracing::info!(
                        alarm = %t.alarm,
                        old = %t.old_state,
                        new = %t.new_state,
                        "alarm state changed"
                    );
                }
                run.report.transitions.push(tr);
            }
        }
        // Metrics out, from the sources no alarm had already counted (a redelivered event
        // publishes nothing twice).
        let mut merged = MetricSeries::new();
        for s in run
            .sources
            .iter()
            .filter(|s| !duplicate_sources.contains(&s.id))
        {
            for (id, series) in &s.series {
                let m = merged.entry(id.clone()).or_insert_with(|| Series {
                    unit: series.unit.clone(),
                    minutes: BTreeMap::new(),
                });
                for (t, v) in &series.minutes {
                    m.minutes.entry(*t).or_default().extend_from_slice(v);
                }
            }
        }
        run.report.emf = emf::documents(&merged);
        run.report.emf_documents = run.report.emf.len();

        let r = &run.report;
        tracing::info!(
            sources = r.sources.len(),
            records = r.records,
            datapoints = r.datapoints,
            bad_inputs = r.bad_inputs.len(),
            skipped = r.skipped.len(),
            transitions = r.transitions.len(),
            notifications = r.notifications,
            errors = r.errors.len(),
            "invocation processed"
        );
        run.report
    }
}

async fn publish(n: &dyn Notifier, subject: &str, body: &str) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 0..PUBLISH_ATTEMPTS {
        match n.publish(subject, body).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                last = e.to_string();
                if attempt + 1 < PUBLISH_ATTEMPTS {
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                }
            }
        }
    }
    Err(last)
}

/// The matching records of `metric` from the sources counted now, in time order, with the total
/// number that matched (summaries may have been capped).
fn records_for(
    sources: &[SourceData],
    counted: &[String],
    metric: &MetricId,
) -> (Vec<Matched>, usize) {
    let mut out = Vec::new();
    let mut total = 0;
    for s in sources.iter().filter(|s| counted.contains(&s.id)) {
        if let Some((n, recs)) = s.matched.get(metric) {
            total += n;
            out.extend(recs.iter().cloned());
        }
    }
    out.sort_by_key(|m| m.minute_ms);
    (out, total)
}

/// Splits the records among the transitions: each change to ALARM gets the records from the
/// start of its evaluation range up to the next change to ALARM; other transitions get none.
fn partition_records(
    def: &AlarmDefinition,
    transitions: &[Transition],
    (records, total): (Vec<Matched>, usize),
) -> Vec<(Vec<Value>, usize)> {
    let range_ms = i64::from(def.period)
        * 1000
        * i64::from(def.evaluation_periods + alarm::EXTRA_RANGE_PERIODS);
    let starts: Vec<i64> = transitions
        .iter()
        .filter(|t| t.new_state == AlarmState::Alarm)
        .map(|t| t.evaluated_at_ms - range_ms)
        .collect();
    let kept = records.len();
    let mut alarm_idx = 0;
    transitions
        .iter()
        .map(|t| {
            if t.new_state != AlarmState::Alarm {
                return (Vec::new(), 0);
            }
            let lo = starts[alarm_idx];
            let hi = starts.get(alarm_idx + 1).copied().unwrap_or(i64::MAX);
            let last = alarm_idx + 1 == starts.len();
            alarm_idx += 1;
            let recs: Vec<Value> = records
                .iter()
                .filter(|m| m.minute_ms >= lo && m.minute_ms < hi)
                .map(|m| m.summary.clone())
                .collect();
            // Records not kept as summaries are counted with the last alert.
            let n = recs.len() + if last { total.saturating_sub(kept) } else { 0 };
            (recs, n)
        })
        .collect()
}

#[cfg(test)]
mod tests;

//! Log file integrity validation: `aws cloudtrail validate-logs` semantics and output, plus the
//! checks it misses (deleted newest digests, every one of several consecutive deleted digests,
//! broken previous-hash/previous-signature links, log files listed in no digest, trailing gzip
//! data, weak signature algorithms and short keys). Digests and log files are fetched and hashed
//! concurrently (bounded); the chain walk stays ordered.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::digest::{
    data_to_sign, parse_digest, DigestFile, DigestParseError, MAX_DIGEST_BYTES, SIGNATURE_ALGORITHM,
};
use crate::gz;
use crate::layout::{
    digest_key_time, format_time, log_key_time, parse_time, TrailArn, TrailLocation,
};
use crate::signer::{PublicKey, MIN_KEY_BITS};
use crate::store::{ObjectStore, StoreError};

/// What to validate.
#[derive(Clone)]
pub struct ValidateRequest {
    pub trail: TrailArn,
    pub location: TrailLocation,
    pub account_id: String,
    pub source_region: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub keys: Vec<PublicKey>,
    /// Files fetched and hashed at once.
    pub concurrency: usize,
    pub max_log_bytes: u64,
    /// A digest is expected every hour; one missing for longer than an hour plus this grace
    /// before the end time is reported as deleted.
    pub newest_grace: Duration,
    /// The time the validation considers current: a digest is due once its hour plus the grace
    /// has passed, and a log file must be listed once it was written more than an hour plus the
    /// grace before it (default: the real clock).
    pub now: DateTime<Utc>,
    /// Called with (files done, files known) as work completes (the CLI's progress bar).
    pub progress: Option<Arc<dyn Fn(usize, usize) + Send + Sync>>,
}

impl ValidateRequest {
    pub fn new(
        trail: TrailArn,
        location: TrailLocation,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        keys: Vec<PublicKey>,
    ) -> Self {
        Self {
            account_id: trail.account_id.clone(),
            source_region: trail.home_region.clone(),
            trail,
            location,
            start,
            end,
            keys,
            concurrency: 32,
            max_log_bytes: gz::DEFAULT_MAX_DECOMPRESSED,
            newest_grace: Duration::minutes(30),
            now: Utc::now(),
            progress: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FileKind {
    Digest,
    Log,
}

/// One line of the report, in the order `validate-logs` prints them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type")]
pub enum Event {
    Valid {
        kind: FileKind,
        bucket: String,
        key: String,
    },
    Invalid {
        kind: FileKind,
        bucket: String,
        key: String,
        reason: String,
    },
    /// A chain restart: not an error.
    Gap { from: String, to: String },
}

impl Event {
    pub fn line(&self) -> String {
        match self {
            Event::Valid { kind, bucket, key } => {
                format!("{} file\ts3://{bucket}/{key}\tvalid", kind_name(*kind))
            }
            Event::Invalid {
                kind,
                bucket,
                key,
                reason,
            } => {
                format!(
                    "{} file\ts3://{bucket}/{key}\tINVALID: {reason}",
                    kind_name(*kind)
                )
            }
            Event::Gap { from, to } => {
                format!("No log files were delivered by CloudTrail between {from} and {to}")
            }
        }
    }
    pub fn is_error(&self) -> bool {
        matches!(self, Event::Invalid { .. })
    }
}

fn kind_name(k: FileKind) -> &'static str {
    match k {
        FileKind::Digest => "Digest",
        FileKind::Log => "Log",
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub trail_arn: String,
    pub start: String,
    pub end: String,
    pub events: Vec<Event>,
    pub valid_digests: usize,
    pub invalid_digests: usize,
    pub valid_logs: usize,
    pub invalid_logs: usize,
    pub found_start: Option<String>,
    pub found_end: Option<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.invalid_digests == 0 && self.invalid_logs == 0
    }
    pub fn exit_code(&self) -> i32 {
        if self.ok() {
            0
        } else {
            1
        }
    }
    pub fn problems(&self) -> impl Iterator<Item = &Event> {
        self.events.iter().filter(|e| e.is_error())
    }

    /// Renders stdout and stderr exactly as `aws cloudtrail validate-logs` writes them.
    pub fn render(&self, verbose: bool) -> (String, String) {
        let mut out = format!(
            "Validating log files for trail {} between {} and {}\n\n",
            self.trail_arn, self.start, self.end
        );
        let mut err = String::new();
        let mut double = false;
        for e in &self.events {
            let line = e.line();
            match e {
                Event::Invalid { .. } => {
                    if double {
                        err.push_str(&format!("{line}\n\n"));
                    } else {
                        err.push_str(&format!("\n{line}\n\n"));
                    }
                    double = true;
                }
                Event::Gap { .. } => {
                    if double {
                        err.push_str(&format!("{line}\n\n"));
                    } else {
                        err.push_str(&format!("\n{line}\n\n"));
                    }
                    double = true;
                }
                Event::Valid { .. } if verbose => {
                    double = false;
                    out.push_str(&format!("{line}\n"));
                }
                Event::Valid { .. } => {}
            }
        }
        if !double {
            out.push('\n');
        }
        out.push_str(&format!(
            "Results requested for {} to {}\n",
            self.start, self.end
        ));
        if self.valid_digests + self.invalid_digests == 0 {
            out.push_str("No digests found\n");
            return (out, err);
        }
        match (&self.found_start, &self.found_end) {
            (Some(s), Some(e)) => out.push_str(&format!("Results found for {s} to {e}:\n")),
            _ => out.push_str("No valid digests found in range\n"),
        }
        ratio(&mut out, self.valid_digests, self.invalid_digests, "digest");
        ratio(&mut out, self.valid_logs, self.invalid_logs, "log");
        out.push('\n');
        (out, err)
    }
}

fn ratio(out: &mut String, valid: usize, invalid: usize, name: &str) {
    let total = valid + invalid;
    if total > 0 {
        out.push_str(&format!("\n{valid}/{total} {name} files valid"));
        if invalid > 0 {
            out.push_str(&format!(", {invalid}/{total} {name} files INVALID"));
        }
    }
}

/// A digest as loaded and checked.
struct Loaded {
    key: String,
    time: DateTime<Utc>,
    result: Result<Checked, String>,
}

struct Checked {
    digest: DigestFile,
    hash: String,
    signature: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

fn check_digest(
    req: &ValidateRequest,
    bucket: &str,
    key: &str,
    got: Result<crate::store::Object, StoreError>,
) -> Result<Checked, String> {
    let obj = got.map_err(|e| {
        if e.is_not_found() {
            "not found".to_string()
        } else {
            e.to_string()
        }
    })?;
    // Unreadable bytes are "invalid format" before the metadata is looked at; a readable digest
    // without its signature metadata fails signature verification (the AWS CLI's order).
    let parsed = parse_digest(&obj.body, MAX_DIGEST_BYTES);
    if let Err(DigestParseError::Gzip(_) | DigestParseError::Json(_)) = &parsed {
        return Err("invalid format".into());
    }
    let (Some(signature), Some(algorithm)) = (
        obj.metadata.get("signature"),
        obj.metadata.get("signature-algorithm"),
    ) else {
        return Err("signature verification failed".into());
    };
    let (digest, data) = parsed.map_err(|_| "invalid format".to_string())?;
    if digest.digest_s3_bucket != bucket || digest.digest_s3_object != key {
        return Err("has been moved from its original location".into());
    }
    let fp = &digest.digest_public_key_fingerprint;
    let Some(pk) = req.keys.iter().find(|k| k.matches_fingerprint(fp)) else {
        return Err(format!(
            "public key not found in region {} for fingerprint {fp}",
            req.trail.home_region
        ));
    };
    if pk.bits() < MIN_KEY_BITS {
        return Err(format!(
            "public key {fp} has {} bits; at least {MIN_KEY_BITS} are required",
            pk.bits()
        ));
    }
    if algorithm != SIGNATURE_ALGORITHM || digest.digest_signature_algorithm != SIGNATURE_ALGORITHM
    {
        return Err(format!(
            "signature algorithm {algorithm} is not accepted; only {SIGNATURE_ALGORITHM} is"
        ));
    }
    let sig_bytes =
        hex::decode(signature).map_err(|_| "signature verification failed".to_string())?;
    let msg = data_to_sign(
        &digest.digest_end_time,
        bucket,
        key,
        &data,
        digest.previous_digest_signature.as_deref(),
    );
    if !pk.verify_sha256(msg.as_bytes(), &sig_bytes) {
        return Err("signature verification failed".into());
    }
    let start = parse_time(&digest.digest_start_time).ok_or("invalid format")?;
    let end = parse_time(&digest.digest_end_time).ok_or("invalid format")?;
    Ok(Checked {
        hash: hex::encode(Sha256::digest(&data)),
        signature: signature.clone(),
        digest,
        start,
        end,
    })
}

async fn hash_log(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    expected: &str,
    max: u64,
) -> Option<String> {
    let obj = match store.get(bucket, key).await {
        Ok(o) => o,
        Err(e) if e.is_not_found() => return Some("not found".into()),
        Err(e) => return Some(e.to_string()),
    };
    // On a multi-threaded runtime each file is hashed in a task of its own, so files are hashed
    // on every worker thread in parallel rather than one after the other in the task that drives
    // the requests (which keeps issuing requests meanwhile).
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        let expected = expected.to_string();
        return match tokio::spawn(async move { check_log(&obj.body, &expected, max) }).await {
            Ok(r) => r,
            Err(e) => Some(format!("hashing failed: {e}")),
        };
    }
    check_log(&obj.body, expected, max)
}

/// Gunzips a log file and compares the SHA-256 of its content with the digest's hash value.
fn check_log(body: &[u8], expected: &str, max: u64) -> Option<String> {
    let mut h = Sha256::new();
    match gz::decompress_with(body, max, |c| h.update(c)) {
        Ok(_) => {}
        Err(gz::GzError::TrailingData) => {
            return Some("unexpected data after end of compressed stream".into())
        }
        Err(gz::GzError::TooLarge(n)) => {
            return Some(format!(
                "invalid format (decompresses to more than {n} bytes)"
            ))
        }
        Err(_) => return Some("invalid format".into()),
    }
    if hex::encode(h.finalize()) != expected {
        return Some("hash value doesn't match".into());
    }
    None
}

/// Validates the trail's files between `start` and `end`.
pub async fn validate(
    store: &dyn ObjectStore,
    req: &ValidateRequest,
) -> Result<Report, StoreError> {
    let bucket = req.location.bucket.clone();
    let mut report = Report {
        trail_arn: req.trail.arn.clone(),
        start: format_time(req.start),
        end: format_time(req.end),
        ..Default::default()
    };
    let done = Arc::new(AtomicUsize::new(0));
    let known = Arc::new(AtomicUsize::new(0));
    let tick = |n: usize| {
        let d = done.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(p) = &req.progress {
            p(d, known.load(Ordering::Relaxed));
        }
    };

    // 1. List digests of this trail in [start - 1 day, end + 1 hour].
    let prefix = req
        .location
        .digest_region_prefix(&req.account_id, &req.source_region);
    let tag = format!(
        "{}_CloudTrail-Digest_{}_{}_{}_",
        req.account_id, req.source_region, req.trail.name, req.trail.home_region
    );
    let list_to = req.end + Duration::hours(1);
    let digest_days = day_folders(&prefix, req.start - Duration::days(1), list_to);
    // The log folders of the range are listed now too (step 5 needs them), all day folders at once.
    let log_prefix = req
        .location
        .log_region_prefix(&req.account_id, &req.source_region);
    let log_days = day_folders(&log_prefix, req.start, req.end);
    let list_all = |folders: Vec<String>| {
        let bucket = &bucket;
        stream::iter(folders)
            .map(move |f| async move { store.list(bucket, &f, None).await })
            .buffered(req.concurrency.max(1))
            .try_collect::<Vec<_>>()
    };
    let (digest_pages, log_pages) =
        futures::future::try_join(list_all(digest_days), list_all(log_days)).await?;
    let mut listed: Vec<(DateTime<Utc>, String)> = Vec::new();
    for l in digest_pages.into_iter().flatten() {
        let name = l.key.rsplit('/').next().unwrap_or("");
        if !name.starts_with(&tag) || l.key.ends_with("_backfill.json.gz") {
            continue;
        }
        if let Some(t) = digest_key_time(&l.key) {
            if t <= list_to {
                listed.push((t, l.key));
            }
        }
    }
    listed.sort();
    listed.dedup();
    known.fetch_add(listed.len(), Ordering::Relaxed);

    // 2. Fetch and check every listed digest concurrently.
    let fetched: Vec<Loaded> = stream::iter(listed.iter().cloned())
        .map(|(time, key)| {
            let bucket = bucket.clone();
            async move {
                let got = store.get(&bucket, &key).await;
                let result = check_digest(req, &bucket, &key, got);
                Loaded { key, time, result }
            }
        })
        .buffered(req.concurrency.max(1))
        .inspect(|_| tick(1))
        .collect()
        .await;
    let by_key: HashMap<&str, &Loaded> = fetched.iter().map(|l| (l.key.as_str(), l)).collect();

    // 3. Walk the chain newest to oldest.
    let mut walk_events: Vec<(Event, Option<usize>)> = Vec::new(); // (event, index of digest whose logs follow)
    let mut valid_digests: Vec<&Checked> = Vec::new();
    let mut visited: HashSet<&str> = HashSet::new();
    let mut remaining: Vec<&Loaded> = fetched.iter().collect(); // ascending by time
    let mut current: Option<&Loaded> = remaining.pop();
    let mut newest_checked = false;
    let mut last_start: Option<DateTime<Utc>> = None;
    while let Some(d) = current {
        if let Some(ls) = last_start {
            if ls < req.start {
                break;
            }
        }
        visited.insert(d.key.as_str());
        match &d.result {
            Err(reason) => {
                walk_events.push((
                    Event::Invalid {
                        kind: FileKind::Digest,
                        bucket: bucket.clone(),
                        key: d.key.clone(),
                        reason: reason.clone(),
                    },
                    None,
                ));
                last_start = Some(d.time - Duration::hours(1));
                current = next_older(&mut remaining, d.time);
            }
            Ok(c) => {
                if !newest_checked {
                    newest_checked = true;
                    // Stricter: digests deleted at the head of the chain.
                    let mut t = c.end + Duration::hours(1);
                    while t <= req.end && t + req.newest_grace <= req.now {
                        let key = req.location.digest_key(
                            &req.account_id,
                            &req.source_region,
                            &req.trail,
                            t,
                        );
                        walk_events.push((Event::Invalid { kind: FileKind::Digest, bucket: bucket.clone(), key, reason: format!("not found (newest digest missing: the chain ends at {} but a digest is due every hour up to {})", format_time(c.end), format_time(req.end)) }, None));
                        t += Duration::hours(1);
                    }
                }
                let idx = valid_digests.len();
                valid_digests.push(c);
                walk_events.push((
                    Event::Valid {
                        kind: FileKind::Digest,
                        bucket: bucket.clone(),
                        key: d.key.clone(),
                    },
                    Some(idx),
                ));
                last_start = Some(c.start);
                match c.digest.previous_digest_s3_object.as_deref() {
                    None => {
                        let next = next_older(&mut remaining, d.time);
                        if let Some(n) = next {
                            walk_events.push((
                                Event::Gap {
                                    from: format_time(n.time),
                                    to: format_time(c.start),
                                },
                                None,
                            ));
                        }
                        current = next;
                    }
                    Some(prev_key) => {
                        if let Some(prev) = by_key.get(prev_key) {
                            if let Ok(p) = &prev.result {
                                let mut broken = Vec::new();
                                if c.digest.previous_digest_hash_value.as_deref()
                                    != Some(p.hash.as_str())
                                {
                                    broken.push("previousDigestHashValue does not match the SHA-256 of the previous digest");
                                }
                                if c.digest.previous_digest_signature.as_deref()
                                    != Some(p.signature.as_str())
                                {
                                    broken.push("previousDigestSignature does not match the previous digest's signature");
                                }
                                if c.start != p.end {
                                    broken.push("digestStartTime does not match the previous digest's digestEndTime");
                                }
                                if !broken.is_empty() {
                                    let last = walk_events.len() - 1;
                                    walk_events[last] = (
                                        Event::Invalid {
                                            kind: FileKind::Digest,
                                            bucket: bucket.clone(),
                                            key: d.key.clone(),
                                            reason: broken.join("; "),
                                        },
                                        None,
                                    );
                                    valid_digests.pop();
                                }
                            }
                            remaining.retain(|l| l.key != prev_key);
                            current = Some(prev);
                        } else {
                            let prev_time = digest_key_time(prev_key);
                            let outside =
                                prev_time.is_some_and(|t| t < req.start - Duration::days(1));
                            if !outside && c.start >= req.start {
                                walk_events.push((
                                    Event::Invalid {
                                        kind: FileKind::Digest,
                                        bucket: bucket.clone(),
                                        key: prev_key.to_string(),
                                        reason: "not found".into(),
                                    },
                                    None,
                                ));
                                // Stricter: every further digest missing before the deleted one.
                                let next = next_older(&mut remaining, d.time);
                                // Only between two digests that exist: before the oldest one the
                                // chain may simply not have started yet.
                                let floor = next.map(|n| n.time);
                                let mut t = c.start - Duration::hours(1);
                                while floor.is_some_and(|f| t > f)
                                    && t > req.start - Duration::hours(1)
                                {
                                    let key = req.location.digest_key(
                                        &req.account_id,
                                        &req.source_region,
                                        &req.trail,
                                        t,
                                    );
                                    walk_events.push((
                                        Event::Invalid {
                                            kind: FileKind::Digest,
                                            bucket: bucket.clone(),
                                            key,
                                            reason: format!(
                                                "not found (no digest covers the hour ending {})",
                                                format_time(t)
                                            ),
                                        },
                                        None,
                                    ));
                                    t -= Duration::hours(1);
                                }
                                last_start = Some(t);
                                current = next;
                            } else {
                                current = None;
                            }
                        }
                    }
                }
            }
        }
    }
    // Digests listed in range but never reached by the walk: forks or insertions.
    for l in &fetched {
        if !visited.contains(l.key.as_str()) && l.time >= req.start && l.time <= req.end {
            if let Ok(c) = &l.result {
                if last_start.is_some_and(|ls| c.end <= ls) {
                    continue;
                }
            }
            walk_events.push((
                Event::Invalid {
                    kind: FileKind::Digest,
                    bucket: bucket.clone(),
                    key: l.key.clone(),
                    reason: "not linked from the digest chain (forked or inserted digest)".into(),
                },
                None,
            ));
        }
    }

    // 4. Hash every log file of every valid digest concurrently, keeping the order.
    let jobs: Vec<(usize, String, String, String)> = valid_digests
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            c.digest.log_files.iter().map(move |l| {
                (
                    i,
                    l.s3_bucket.clone(),
                    l.s3_object.clone(),
                    l.hash_value.clone(),
                )
            })
        })
        .collect();
    known.fetch_add(jobs.len(), Ordering::Relaxed);
    let max = req.max_log_bytes;
    let results: Vec<(usize, Event)> = stream::iter(jobs)
        .map(|(i, b, k, h)| async move {
            let ev = match hash_log(store, &b, &k, &h, max).await {
                None => Event::Valid {
                    kind: FileKind::Log,
                    bucket: b,
                    key: k,
                },
                Some(reason) => Event::Invalid {
                    kind: FileKind::Log,
                    bucket: b,
                    key: k,
                    reason,
                },
            };
            (i, ev)
        })
        .buffered(req.concurrency.max(1))
        .inspect(|_| tick(1))
        .collect()
        .await;
    let mut logs_by_digest: Vec<Vec<Event>> = vec![Vec::new(); valid_digests.len()];
    for (i, ev) in results {
        logs_by_digest[i].push(ev);
    }
    for (ev, idx) in walk_events {
        let is_valid_digest = matches!(ev, Event::Valid { .. });
        report.events.push(ev);
        if let (true, Some(i)) = (is_valid_digest, idx) {
            report.events.append(&mut logs_by_digest[i]);
        }
    }

    // 5. Stricter: log files under the trail's prefix in range that no valid digest lists.
    let listed_logs: HashSet<&str> = valid_digests
        .iter()
        .flat_map(|c| c.digest.log_files.iter().map(|l| l.s3_object.as_str()))
        .collect();
    let mut unlisted = Vec::new();
    for l in log_pages.into_iter().flatten() {
        if listed_logs.contains(l.key.as_str()) {
            continue;
        }
        let Some(t) = log_key_time(&l.key) else {
            continue;
        };
        if t < req.start || t > req.end {
            continue;
        }
        // Written less than an hour (plus grace) ago: its digest may not be due yet.
        let written = l.last_modified.unwrap_or(t);
        let due = written + Duration::hours(1) + req.newest_grace <= req.now;
        if due {
            unlisted.push(l.key);
        }
    }
    for key in unlisted {
        report.events.push(Event::Invalid {
            kind: FileKind::Log,
            bucket: bucket.clone(),
            key,
            reason: "not listed in any valid digest".into(),
        });
    }

    for e in &report.events {
        match e {
            Event::Valid {
                kind: FileKind::Digest,
                ..
            } => report.valid_digests += 1,
            Event::Invalid {
                kind: FileKind::Digest,
                ..
            } => report.invalid_digests += 1,
            Event::Valid {
                kind: FileKind::Log,
                ..
            } => report.valid_logs += 1,
            Event::Invalid {
                kind: FileKind::Log,
                ..
            } => report.invalid_logs += 1,
            Event::Gap { .. } => {}
        }
    }
    for c in &valid_digests {
        let s = c.start.max(req.start);
        let e = c.end.min(req.end);
        if report
            .found_start
            .as_ref()
            .is_none_or(|fs| format_time(s) < *fs)
        {
            report.found_start = Some(format_time(s));
        }
        if report
            .found_end
            .as_ref()
            .is_none_or(|fe| format_time(e) > *fe)
        {
            report.found_end = Some(format_time(e));
        }
    }
    Ok(report)
}

/// The day folders under `prefix` from `from`'s day to `to`'s day, in order.
fn day_folders(prefix: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<String> {
    let mut out = Vec::new();
    let mut day = from;
    while day.date_naive() <= to.date_naive() {
        out.push(TrailLocation::day_folder(prefix, day));
        day += Duration::days(1);
    }
    out
}

fn next_older<'a>(remaining: &mut Vec<&'a Loaded>, before: DateTime<Utc>) -> Option<&'a Loaded> {
    while let Some(l) = remaining.pop() {
        if l.time < before {
            return Some(l);
        }
    }
    None
}

/// The daily check: validates every account and region of the trail over a window ending at
/// `end`, and publishes one alert listing every problem (nothing when all is valid).
#[derive(Debug, Clone, Serialize)]
pub struct MonitorSummary {
    pub start: String,
    pub end: String,
    pub chains: usize,
    pub valid_digests: usize,
    pub valid_logs: usize,
    pub problems: Vec<String>,
    pub alerted: bool,
}

pub async fn validate_recent(
    store: &dyn ObjectStore,
    notifier: Option<&dyn crate::notify::Notifier>,
    template: &ValidateRequest,
) -> Result<MonitorSummary, crate::notify::NotifyError> {
    let mut summary = MonitorSummary {
        start: format_time(template.start),
        end: format_time(template.end),
        chains: 0,
        valid_digests: 0,
        valid_logs: 0,
        problems: Vec::new(),
        alerted: false,
    };
    let chains = match crate::digest::discover_account_regions(store, &template.location).await {
        Ok(c) => c,
        Err(e) => {
            summary
                .problems
                .push(format!("cannot list the trail bucket: {e}"));
            Vec::new()
        }
    };
    for (account, region) in chains {
        let mut req = template.clone();
        req.account_id = account.clone();
        req.source_region = region.clone();
        summary.chains += 1;
        match validate(store, &req).await {
            Ok(r) => {
                summary.valid_digests += r.valid_digests;
                summary.valid_logs += r.valid_logs;
                summary.problems.extend(r.problems().map(Event::line));
            }
            Err(e) => summary
                .problems
                .push(format!("{account}/{region}: validation could not run: {e}")),
        }
    }
    if !summary.problems.is_empty() {
        if let Some(n) = notifier {
            let subject = format!(
                "trailwarden: {} integrity problem(s) in trail {}",
                summary.problems.len(),
                template.trail.name
            );
            let mut body =
                format!(
                "Log file integrity validation of {} between {} and {} found {} problem(s):\n\n",
                template.trail.arn, summary.start, summary.end, summary.problems.len()
            );
            for p in &summary.problems {
                if body.len() + p.len() + 64 > crate::notify::MAX_MESSAGE_BYTES {
                    body.push_str(
                        "... (truncated; run trailwarden validate-logs for the full list)\n",
                    );
                    break;
                }
                body.push_str(p);
                body.push('\n');
            }
            n.publish(&subject, &body).await?;
            summary.alerted = true;
        }
    }
    Ok(summary)
}

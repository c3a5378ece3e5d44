//! Replay: the metric filters and their alarms over archived log files, as if the filters had
//! existed when the records arrived. CloudWatch applies a new metric filter only to new events;
//! this answers "what would this alarm have caught last month": per filter, the matching records
//! per period, and every state change each alarm would have gone through, with its time and
//! CloudWatch's reason.
//!
//! The records' `eventTime` places them in time (the same minutes the function would publish);
//! each alarm is then evaluated at every step (its period, at most a minute, as CloudWatch
//! evaluates) from the start of the range to its end, seeing only the datapoints before each
//! instant. Files are processed one after the other and folded into per-minute aggregates, so
//! memory does not grow with the number of files.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{BadInput, Engine, Run};
use crate::alarm::{Aggregate, AlarmState, MetricId};
use crate::store::ObjectStore;

/// Period of the per-filter counts when neither `--period` nor an alarm on the filter's metric
/// gives one (the CIS alarms' period).
pub const DEFAULT_COUNT_PERIOD_SECS: u32 = 300;
/// Log files fetched at once from a store.
const FETCH_CONCURRENCY: usize = 16;

/// Errors that stop a replay (bad files do not: they are reported and skipped).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("--start-time {start} is not before --end-time {end}")]
    EmptyRange { start: String, end: String },
    #[error("--period must be 10, 20, 30 or a multiple of 60 seconds (got {0})")]
    Period(u32),
    #[error(
        "no record matched a filter, so there is no time range to evaluate the alarms over: give --start-time and --end-time"
    )]
    NoRange,
    #[error("listing s3://{bucket}/{prefix}: {source}")]
    List {
        bucket: String,
        prefix: String,
        #[source]
        source: Box<crate::store::StoreError>,
    },
}

/// What to replay over.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Evaluate from here (default: the hour of the first datapoint).
    pub start: Option<DateTime<Utc>>,
    /// Up to here (default: the hour after the last datapoint).
    pub end: Option<DateTime<Utc>>,
    /// Period of the per-filter counts (default: the period of the filter's alarm, else 300 s).
    pub period_secs: Option<u32>,
    /// Limit on one decompressed file.
    pub max_decompressed: u64,
}

/// Matching records of one filter in one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodCount {
    /// Start of the period, RFC 3339.
    pub start: String,
    pub matches: usize,
}

/// One filter's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterReplay {
    pub filter_name: String,
    pub metric_namespace: String,
    pub metric_name: String,
    pub period_seconds: u32,
    /// Matching records in the range.
    pub matches: usize,
    /// Periods with at least one match, in time order.
    pub periods: Vec<PeriodCount>,
}

/// A state change the alarm would have made.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayTransition {
    /// The evaluation instant, RFC 3339.
    pub time: String,
    pub old_state: AlarmState,
    pub new_state: AlarmState,
    /// An alert would have been published (to ALARM, or from ALARM back to OK).
    pub notifies: bool,
    pub reason: String,
}

/// One alarm's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmReplay {
    pub alarm_name: String,
    pub evaluations: usize,
    pub transitions: Vec<ReplayTransition>,
    pub final_state: AlarmState,
    /// Evaluations that ended in ALARM.
    pub evaluations_in_alarm: usize,
}

/// What a replay found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayReport {
    pub start: String,
    pub end: String,
    pub files: usize,
    pub records: usize,
    pub records_not_json: usize,
    pub records_without_time: usize,
    /// Matches whose time lies outside the range (not counted below).
    pub matches_outside_range: usize,
    pub bad_inputs: Vec<BadInput>,
    pub filters: Vec<FilterReplay>,
    pub alarms: Vec<AlarmReplay>,
}

/// A replay in progress: add files, then [`Replay::finish`].
pub struct Replay<'e> {
    engine: &'e Engine,
    run: Run<'e>,
    options: ReplayOptions,
    files: usize,
    /// Per metric, per minute.
    minutes: BTreeMap<MetricId, BTreeMap<i64, Aggregate>>,
    /// Per (filter, minute): matching records.
    hits: BTreeMap<(usize, i64), usize>,
}

fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(crate::layout::format_time)
        .unwrap_or_else(|| ms.to_string())
}

impl<'e> Replay<'e> {
    pub fn new(engine: &'e Engine, options: ReplayOptions) -> Result<Self, ReplayError> {
        if let (Some(s), Some(e)) = (options.start, options.end) {
            if s >= e {
                return Err(ReplayError::EmptyRange {
                    start: crate::layout::format_time(s),
                    end: crate::layout::format_time(e),
                });
            }
        }
        if let Some(p) = options.period_secs {
            if !crate::alarm::valid_period(p) {
                return Err(ReplayError::Period(p));
            }
        }
        let mut run = Run::new(engine, options.end.unwrap_or_else(Utc::now));
        run.for_replay = true;
        Ok(Replay {
            engine,
            run,
            options,
            files: 0,
            minutes: BTreeMap::new(),
            hits: BTreeMap::new(),
        })
    }

    /// One log file's bytes (gzip or plain `{"Records":[...]}`); a bad file is reported in the
    /// result and skipped.
    pub fn add_file(&mut self, name: &str, body: &[u8]) {
        self.files += 1;
        self.run
            .add_log_file(name.to_string(), name, body, self.options.max_decompressed);
        // Fold the file into the aggregates and drop it.
        for src in self.run.sources.drain(..) {
            for (id, series) in src.series {
                let m = self.minutes.entry(id).or_default();
                for (t, values) in series.minutes {
                    if let Some(a) = Aggregate::of_all(&values) {
                        m.entry(t).and_modify(|x| x.merge(&a)).or_insert(a);
                    }
                }
            }
            for (k, n) in src.hits {
                *self.hits.entry(k).or_default() += n;
            }
        }
    }

    /// Reads every log file under `prefix` (keys ending in `.json.gz`, digests and trailwarden's
    /// own objects left out; with a range, files whose key time is before the start or more than
    /// an hour after the end are skipped: CloudTrail delivers within minutes).
    pub async fn add_store_prefix(
        &mut self,
        store: &dyn ObjectStore,
        bucket: &str,
        prefix: &str,
    ) -> Result<(), ReplayError> {
        use futures::StreamExt;
        let listed =
            store
                .list(bucket, prefix, None)
                .await
                .map_err(|source| ReplayError::List {
                    bucket: bucket.into(),
                    prefix: prefix.into(),
                    source: Box::new(source),
                })?;
        let (start, end) = (self.options.start, self.options.end);
        let keys: Vec<String> = listed
            .into_iter()
            .map(|l| l.key)
            .filter(|k| super::is_log_file_key(k).is_ok())
            .filter(|k| match crate::layout::log_key_time(k) {
                Some(t) => {
                    start.is_none_or(|s| t >= s)
                        && end.is_none_or(|e| t <= e + chrono::Duration::hours(1))
                }
                None => true,
            })
            .collect();
        let mut bodies = futures::stream::iter(keys.into_iter().map(|key| async move {
            let r = store.get(bucket, &key).await;
            (key, r)
        }))
        .buffered(FETCH_CONCURRENCY);
        while let Some((key, r)) = bodies.next().await {
            let name = format!("s3://{bucket}/{key}");
            match r {
                Ok(obj) => self.add_file(&name, &obj.body),
                Err(e) => {
                    self.files += 1;
                    self.run.bad(&name, e);
                }
            }
        }
        Ok(())
    }

    /// Evaluates the alarms over the range and builds the report.
    pub fn finish(self) -> Result<ReplayReport, ReplayError> {
        let Replay {
            engine,
            run,
            options,
            files,
            minutes,
            hits,
        } = self;
        let hour = 3_600_000;
        let (start_ms, end_ms) = match (options.start, options.end) {
            (Some(s), Some(e)) => (s.timestamp_millis(), e.timestamp_millis()),
            (s, e) => {
                let first = hits.keys().map(|k| k.1).min();
                let last = hits.keys().map(|k| k.1).max();
                let start = match (s, first) {
                    (Some(s), _) => s.timestamp_millis(),
                    (None, Some(f)) => f - f.rem_euclid(hour),
                    (None, None) => return Err(ReplayError::NoRange),
                };
                let end = match (e, last) {
                    (Some(e), _) => e.timestamp_millis(),
                    (None, Some(l)) => l - l.rem_euclid(hour) + hour,
                    (None, None) => return Err(ReplayError::NoRange),
                };
                if start >= end {
                    return Err(ReplayError::EmptyRange {
                        start: rfc3339(start),
                        end: rfc3339(end),
                    });
                }
                (start, end)
            }
        };
        let in_range = |t: i64| t >= start_ms && t < end_ms;
        let matches_outside_range = hits
            .iter()
            .filter(|((_, t), _)| !in_range(*t))
            .map(|(_, n)| n)
            .sum();

        let filters = engine
            .filters()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let t = &f.filter.definition().metric_transformations[0];
                let period = options
                    .period_secs
                    .or_else(|| {
                        engine
                            .alarms()
                            .iter()
                            .find(|a| {
                                a.metric.namespace == t.metric_namespace
                                    && a.metric.name == t.metric_name
                            })
                            .map(|a| a.period)
                    })
                    .unwrap_or(DEFAULT_COUNT_PERIOD_SECS);
                let p = i64::from(period) * 1000;
                let mut per: BTreeMap<i64, usize> = BTreeMap::new();
                for ((_, t), n) in hits.range((i, start_ms)..(i, end_ms)) {
                    let k = start_ms + (t - start_ms).div_euclid(p) * p;
                    *per.entry(k).or_default() += n;
                }
                FilterReplay {
                    filter_name: f.filter.definition().filter_name.clone(),
                    metric_namespace: t.metric_namespace.clone(),
                    metric_name: t.metric_name.clone(),
                    period_seconds: period,
                    matches: per.values().sum(),
                    periods: per
                        .into_iter()
                        .map(|(t, matches)| PeriodCount {
                            start: rfc3339(t),
                            matches,
                        })
                        .collect(),
                }
            })
            .collect();

        let empty = BTreeMap::new();
        let alarms = engine
            .alarms()
            .iter()
            .map(|def| {
                let all = minutes.get(&def.metric).unwrap_or(&empty);
                let data: BTreeMap<i64, Aggregate> =
                    all.range(start_ms..end_ms).map(|(t, a)| (*t, *a)).collect();
                let step = (i64::from(def.period) * 1000).min(60_000);
                let mut state = AlarmState::InsufficientData;
                let mut transitions = Vec::new();
                let mut evaluations = 0;
                let mut in_alarm = 0;
                let mut at = start_ms - start_ms.rem_euclid(step) + step;
                while at <= end_ms {
                    let e = def.evaluate(&data, at, state);
                    evaluations += 1;
                    if e.state == AlarmState::Alarm {
                        in_alarm += 1;
                    }
                    if e.state != state {
                        let notifies = e.state == AlarmState::Alarm
                            || (state == AlarmState::Alarm && e.state == AlarmState::Ok);
                        transitions.push(ReplayTransition {
                            time: rfc3339(at),
                            old_state: state,
                            new_state: e.state,
                            notifies,
                            reason: e.reason(def, state),
                        });
                        state = e.state;
                    }
                    at += step;
                }
                AlarmReplay {
                    alarm_name: def.name.clone(),
                    evaluations,
                    transitions,
                    final_state: state,
                    evaluations_in_alarm: in_alarm,
                }
            })
            .collect();

        let r = run.report;
        Ok(ReplayReport {
            start: rfc3339(start_ms),
            end: rfc3339(end_ms),
            files,
            records: r.records,
            records_not_json: r.records_not_json,
            records_without_time: r.records_without_time,
            matches_outside_range,
            bad_inputs: r.bad_inputs,
            filters,
            alarms,
        })
    }
}

impl ReplayReport {
    /// The report as text: per filter its counts per period, per alarm its transitions.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "replay {} to {}: {} files, {} records ({} not JSON, {} without eventTime), {} matches outside the range",
            self.start,
            self.end,
            self.files,
            self.records,
            self.records_not_json,
            self.records_without_time,
            self.matches_outside_range
        );
        for b in &self.bad_inputs {
            let _ = writeln!(s, "skipped {}: {}", b.source, b.error);
        }
        for f in &self.filters {
            let _ = writeln!(
                s,
                "\nfilter {} ({}/{}): {} matches, per {} s period",
                f.filter_name, f.metric_namespace, f.metric_name, f.matches, f.period_seconds
            );
            for p in &f.periods {
                let _ = writeln!(s, "  {}  {}", p.start, p.matches);
            }
        }
        for a in &self.alarms {
            let _ = writeln!(
                s,
                "\nalarm {}: {} evaluations, {} in ALARM, {} transitions, final state {}",
                a.alarm_name,
                a.evaluations,
                a.evaluations_in_alarm,
                a.transitions.len(),
                a.final_state
            );
            for t in &a.transitions {
                let _ = writeln!(
                    s,
                    "  {}  {} -> {}{}  {}",
                    t.time,
                    t.old_state,
                    t.new_state,
                    if t.notifies { " (alert)" } else { "" },
                    t.reason
                );
            }
        }
        s
    }
}

#[cfg(test)]
mod tests;

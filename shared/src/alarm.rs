//! CloudWatch metric alarms, evaluated here instead of in CloudWatch: the same states, settings,
//! missing-data rules and state reasons, with the alarm's state kept between invocations in an
//! object of the trail bucket.
//!
//! Semantics (CloudWatch user guide, "Using Amazon CloudWatch alarms" and "Configuring how
//! CloudWatch alarms treat missing data"):
//!
//! - An alarm watches one metric (namespace, name, exact dimension set) through one statistic
//!   over periods of `period` seconds (10, 20, 30 or a multiple of 60). It is `ALARM` when at
//!   least M (`DatapointsToAlarm`) of the last N (`EvaluationPeriods`) datapoints breach the
//!   threshold, not necessarily consecutive; a new alarm starts in `INSUFFICIENT_DATA`.
//! - Each evaluation looks at an *evaluation range* of N + 2 periods (CloudWatch retrieves more
//!   datapoints than N; its documented example uses N + 2). With at least N real datapoints in
//!   the range, the N most recent are evaluated and treat-missing-data plays no part. With none,
//!   `missing` gives `INSUFFICIENT_DATA`, `ignore` keeps the state, `breaching` gives `ALARM` and
//!   `notBreaching` gives `OK`. In between, `breaching`/`notBreaching` fill the missing ones as
//!   few times as possible; `missing` evaluates the real ones, except that it goes to `ALARM`
//!   when the oldest breaching datapoint of the last N periods is at least M periods old and
//!   every more recent one is breaching or missing ("premature transition" rule); `ignore`
//!   behaves like `missing` but keeps the current state where `missing` would apply that rule.
//! - CloudWatch evaluates every minute over periods that end at the evaluation time. Metric
//!   filter datapoints are stamped per minute, so the state keeps per-minute sample statistics
//!   (sum, count, minimum, maximum) and an evaluation at any instant computes its periods from
//!   them. Log files arrive minutes after their events (and out of order), so an update replays
//!   the evaluations CloudWatch would have made while the new datapoints were in range, then
//!   evaluates at the current time; every state change on the way is a [`Transition`], and
//!   actions fire on transitions only.
//!
//! State is read and written with conditional writes (`If-None-Match: *` for the first write,
//! `If-Match: <etag>` after), retried on conflict, so concurrent invocations cannot lose an
//! update. Each state remembers the sources (log files, subscription payloads) it has counted, so
//! a redelivered S3 event or a retried invocation does not count the same datapoints twice.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::filter::cis::AlarmSettings;
use crate::store::{ObjectStore, Put, StoreError};

/// Extra periods retrieved beyond N (the evaluation range is N + 2 periods).
pub const EXTRA_RANGE_PERIODS: u32 = 2;
/// Largest `period x evaluation periods` accepted (one day, as CloudWatch for most alarms).
pub const MAX_EVALUATION_SECONDS: u64 = 86_400;
/// Sources remembered per alarm for de-duplication.
pub const MAX_REMEMBERED_SOURCES: usize = 512;
/// Per-minute statistics kept per alarm, at most.
pub const MAX_BUCKETS: usize = 20_000;
/// How long datapoints are kept beyond the evaluation range, for late log files.
pub const LATE_DATA_MS: i64 = 3_600_000;
/// Conditional-write attempts before giving up.
pub const MAX_WRITE_ATTEMPTS: u32 = 10;
/// Evaluations replayed per update, at most.
pub const MAX_REPLAYED_EVALUATIONS: usize = 50_000;
/// Default key prefix of the alarm state objects in the trail bucket.
pub const DEFAULT_STATE_PREFIX: &str = "trailwarden-state/alarms/";

/// An alarm's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AlarmState {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "ALARM")]
    Alarm,
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
}

impl AlarmState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

impl std::fmt::Display for AlarmState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An invalid alarm definition or an alarm whose state could not be updated.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum AlarmError {
    #[error("alarm {alarm:?}: {field} {reason}")]
    Invalid {
        alarm: String,
        field: &'static str,
        reason: String,
    },
    #[error("alarm {alarm:?}: the state object s3://{bucket}/{key} was changed concurrently {attempts} times in a row; giving up (a retry of the invocation will try again)")]
    Contention {
        alarm: String,
        bucket: String,
        key: String,
        attempts: u32,
    },
    #[error("alarm {alarm:?}: {source}")]
    Store {
        alarm: String,
        #[source]
        source: StoreError,
    },
}

fn invalid(alarm: &str, field: &'static str, reason: impl Into<String>) -> AlarmError {
    AlarmError::Invalid {
        alarm: alarm.to_string(),
        field,
        reason: reason.into(),
    }
}

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }
        impl $name {
            /// Every accepted spelling.
            pub const ALL: &'static [&'static str] = &[$($text),+];
            /// The name as CloudWatch spells it.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            /// Parses CloudWatch's spelling (exact, case-sensitive).
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum!(
    /// How a statistic compares with the threshold.
    ComparisonOperator, "comparison operator", {
        GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
        GreaterThanThreshold => "GreaterThanThreshold",
        LessThanThreshold => "LessThanThreshold",
        LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
    }
);

impl ComparisonOperator {
    /// Does `value` breach `threshold`?
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            ComparisonOperator::GreaterThanOrEqualToThreshold => value >= threshold,
            ComparisonOperator::GreaterThanThreshold => value > threshold,
            ComparisonOperator::LessThanThreshold => value < threshold,
            ComparisonOperator::LessThanOrEqualToThreshold => value <= threshold,
        }
    }

    /// The words CloudWatch uses in state reasons ("greater than or equal to").
    pub fn phrase(self) -> &'static str {
        match self {
            ComparisonOperator::GreaterThanOrEqualToThreshold => "greater than or equal to",
            ComparisonOperator::GreaterThanThreshold => "greater than",
            ComparisonOperator::LessThanThreshold => "less than",
            ComparisonOperator::LessThanOrEqualToThreshold => "less than or equal to",
        }
    }
}

named_enum!(
    /// The statistic computed per period.
    Statistic, "statistic", {
        Sum => "Sum",
        SampleCount => "SampleCount",
        Average => "Average",
        Minimum => "Minimum",
        Maximum => "Maximum",
    }
);

impl Statistic {
    /// As the alarm SNS message's `Trigger.Statistic` spells it (`SUM`, `SAMPLE_COUNT`...).
    pub fn upper(self) -> &'static str {
        match self {
            Statistic::Sum => "SUM",
            Statistic::SampleCount => "SAMPLE_COUNT",
            Statistic::Average => "AVERAGE",
            Statistic::Minimum => "MINIMUM",
            Statistic::Maximum => "MAXIMUM",
        }
    }

    /// The statistic of a non-empty aggregate.
    pub fn of(self, a: &Aggregate) -> f64 {
        match self {
            Statistic::Sum => a.sum,
            Statistic::SampleCount => a.count as f64,
            Statistic::Average => a.sum / a.count.max(1) as f64,
            Statistic::Minimum => a.min,
            Statistic::Maximum => a.max,
        }
    }
}

named_enum!(
    /// How missing datapoints count.
    TreatMissingData, "treat-missing-data", {
        Missing => "missing",
        NotBreaching => "notBreaching",
        Breaching => "breaching",
        Ignore => "ignore",
    }
);

/// Sample statistics of one minute (or one period).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    pub sum: f64,
    #[serde(rename = "n")]
    pub count: u64,
    pub min: f64,
    pub max: f64,
}

impl Aggregate {
    /// One sample.
    pub fn of(value: f64) -> Self {
        Aggregate {
            sum: value,
            count: 1,
            min: value,
            max: value,
        }
    }

    /// The statistics of several samples (`None` when there are none).
    pub fn of_all(values: &[f64]) -> Option<Self> {
        let (first, rest) = values.split_first()?;
        let mut a = Aggregate::of(*first);
        for v in rest {
            a.add(*v);
        }
        Some(a)
    }

    pub fn add(&mut self, value: f64) {
        self.merge(&Aggregate::of(value));
    }

    pub fn merge(&mut self, o: &Aggregate) {
        self.sum += o.sum;
        self.count += o.count;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }
}

/// A metric: namespace, name and its exact dimension set (sorted by name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MetricId {
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<(String, String)>,
}

impl MetricId {
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        mut dimensions: Vec<(String, String)>,
    ) -> Self {
        dimensions.sort();
        MetricId {
            namespace: namespace.into(),
            name: name.into(),
            dimensions,
        }
    }
}

/// CloudWatch's rule for an alarm period: 10, 20 or 30 seconds (high resolution) or a multiple
/// of 60.
pub fn valid_period(seconds: u32) -> bool {
    matches!(seconds, 10 | 20 | 30) || (seconds >= 60 && seconds % 60 == 0)
}

/// A metric alarm (PutMetricAlarm's settings that matter here).
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmDefinition {
    pub name: String,
    pub description: Option<String>,
    pub metric: MetricId,
    pub statistic: Statistic,
    /// Seconds: 10, 20, 30 or a multiple of 60.
    pub period: u32,
    /// N
    pub evaluation_periods: u32,
    /// M (1..=N)
    pub datapoints_to_alarm: u32,
    pub threshold: f64,
    pub comparison_operator: ComparisonOperator,
    pub treat_missing_data: TreatMissingData,
}

impl AlarmDefinition {
    /// Checks every setting against CloudWatch's rules.
    pub fn validate(&self) -> Result<(), AlarmError> {
        let n = self.name.chars().count();
        if n == 0 || n > 255 || self.name.chars().any(char::is_control) {
            return Err(invalid(
                &self.name,
                "AlarmName",
                "must be 1 to 255 characters without control characters",
            ));
        }
        if let Some(d) = &self.description {
            if d.chars().count() > 1024 {
                return Err(invalid(
                    &self.name,
                    "AlarmDescription",
                    "must be at most 1024 characters",
                ));
            }
        }
        if self.metric.namespace.is_empty() || self.metric.name.is_empty() {
            return Err(invalid(
                &self.name,
                "MetricName/Namespace",
                "must not be empty",
            ));
        }
        if self.metric.dimensions.len() > 30 {
            return Err(invalid(&self.name, "Dimensions", "at most 30 dimensions"));
        }
        let p = self.period;
        if !valid_period(p) {
            return Err(invalid(
                &self.name,
                "Period",
                format!("must be 10, 20, 30 or a multiple of 60 seconds (got {p})"),
            ));
        }
        if self.evaluation_periods == 0 {
            return Err(invalid(
                &self.name,
                "EvaluationPeriods",
                "must be at least 1",
            ));
        }
        if self.datapoints_to_alarm == 0 || self.datapoints_to_alarm > self.evaluation_periods {
            return Err(invalid(
                &self.name,
                "DatapointsToAlarm",
                format!(
                    "must be from 1 to EvaluationPeriods ({}) (got {})",
                    self.evaluation_periods, self.datapoints_to_alarm
                ),
            ));
        }
        if u64::from(p) * u64::from(self.evaluation_periods) > MAX_EVALUATION_SECONDS {
            return Err(invalid(
                &self.name,
                "Period x EvaluationPeriods",
                format!(
                    "must be at most {MAX_EVALUATION_SECONDS} seconds (one day) (got {})",
                    u64::from(p) * u64::from(self.evaluation_periods)
                ),
            ));
        }
        if !self.threshold.is_finite() {
            return Err(invalid(&self.name, "Threshold", "must be a finite number"));
        }
        Ok(())
    }

    /// From the CIS-style settings (strings for the enumerations), validated.
    pub fn from_settings(
        s: &AlarmSettings,
        description: Option<String>,
    ) -> Result<Self, AlarmError> {
        let name = &s.alarm_name;
        let expected = |all: &[&str]| format!("must be one of {}", all.join(", "));
        let def = AlarmDefinition {
            name: name.clone(),
            description,
            metric: MetricId::new(&s.namespace, &s.metric_name, Vec::new()),
            statistic: Statistic::parse(&s.statistic)
                .ok_or_else(|| invalid(name, "Statistic", expected(Statistic::ALL)))?,
            period: s.period,
            evaluation_periods: s.evaluation_periods,
            datapoints_to_alarm: s.datapoints_to_alarm,
            threshold: s.threshold,
            comparison_operator: ComparisonOperator::parse(&s.comparison_operator).ok_or_else(
                || {
                    invalid(
                        name,
                        "ComparisonOperator",
                        expected(ComparisonOperator::ALL),
                    )
                },
            )?,
            treat_missing_data: TreatMissingData::parse(&s.treat_missing_data).ok_or_else(
                || invalid(name, "TreatMissingData", expected(TreatMissingData::ALL)),
            )?,
        };
        def.validate()?;
        Ok(def)
    }

    fn period_ms(&self) -> i64 {
        i64::from(self.period) * 1000
    }

    fn range_periods(&self) -> u32 {
        self.evaluation_periods + EXTRA_RANGE_PERIODS
    }

    /// The statistic of each period of the evaluation range ending at `at_ms`, newest first:
    /// `(period start ms, value)`.
    pub fn periods(
        &self,
        minutes: &BTreeMap<i64, Aggregate>,
        at_ms: i64,
    ) -> Vec<(i64, Option<f64>)> {
        let p = self.period_ms();
        (0..i64::from(self.range_periods()))
            .map(|k| {
                let end = at_ms - k * p;
                let start = end - p;
                let mut agg: Option<Aggregate> = None;
                for (_, a) in minutes.range(start..end) {
                    match &mut agg {
                        Some(x) => x.merge(a),
                        None => agg = Some(*a),
                    }
                }
                (start, agg.map(|a| self.statistic.of(&a)))
            })
            .collect()
    }

    /// Evaluates the alarm at instant `at_ms` given its per-minute statistics and its current
    /// state (which `ignore` keeps).
    pub fn evaluate(
        &self,
        minutes: &BTreeMap<i64, Aggregate>,
        at_ms: i64,
        current: AlarmState,
    ) -> Evaluation {
        let periods = self.periods(minutes, at_ms);
        self.evaluate_periods(&periods, at_ms, current)
    }

    /// Same as [`AlarmDefinition::evaluate`] on the evaluation range's datapoints, newest first.
    pub fn evaluate_periods(
        &self,
        periods: &[(i64, Option<f64>)],
        at_ms: i64,
        current: AlarmState,
    ) -> Evaluation {
        let n = self.evaluation_periods as usize;
        let m = self.datapoints_to_alarm as usize;
        let breach = |v: f64| self.comparison_operator.breaches(v, self.threshold);
        let real: Vec<Point> = periods
            .iter()
            .filter_map(|(t, v)| {
                v.map(|v| Point {
                    start_ms: *t,
                    value: v,
                    breaching: breach(v),
                })
            })
            .collect();
        let eval = |state: AlarmState, basis: Basis| Evaluation {
            state,
            at_ms,
            basis,
        };
        let decide = |points: Vec<Point>, filled: usize, filled_breaching: bool| {
            let b = points.iter().filter(|p| p.breaching).count()
                + if filled_breaching { filled } else { 0 };
            let state = if b >= m {
                AlarmState::Alarm
            } else {
                AlarmState::Ok
            };
            eval(
                state,
                Basis::Datapoints {
                    points,
                    filled,
                    filled_breaching,
                },
            )
        };
        if real.len() >= n {
            return decide(real.into_iter().take(n).collect(), 0, false);
        }
        if real.is_empty() {
            let r = periods.len();
            return match self.treat_missing_data {
                TreatMissingData::Missing => {
                    eval(AlarmState::InsufficientData, Basis::Unknown { periods: r })
                }
                TreatMissingData::Ignore => eval(current, Basis::Retained),
                TreatMissingData::Breaching => eval(
                    AlarmState::Alarm,
                    Basis::AllMissing {
                        periods: n,
                        breaching: true,
                    },
                ),
                TreatMissingData::NotBreaching => eval(
                    AlarmState::Ok,
                    Basis::AllMissing {
                        periods: n,
                        breaching: false,
                    },
                ),
            };
        }
        let fill = n - real.len();
        match self.treat_missing_data {
            TreatMissingData::Breaching => decide(real, fill, true),
            TreatMissingData::NotBreaching => decide(real, fill, false),
            TreatMissingData::Missing | TreatMissingData::Ignore => {
                // Premature-transition rule over the last N periods.
                let last_n = &periods[..n.min(periods.len())];
                let oldest_breaching = last_n.iter().rposition(|(_, v)| v.is_some_and(breach));
                let premature = oldest_breaching.is_some_and(|pos| {
                    pos + 1 >= m && last_n[..pos].iter().all(|(_, v)| v.is_none_or(breach))
                });
                if premature {
                    if self.treat_missing_data == TreatMissingData::Ignore {
                        return eval(current, Basis::Retained);
                    }
                    let points: Vec<Point> = real
                        .into_iter()
                        .filter(|p| p.start_ms >= last_n[last_n.len() - 1].0)
                        .collect();
                    return eval(
                        AlarmState::Alarm,
                        Basis::Datapoints {
                            points,
                            filled: 0,
                            filled_breaching: false,
                        },
                    );
                }
                decide(real, 0, false)
            }
        }
    }

    /// The instants to evaluate after new per-minute datapoints at `touched` arrived, up to
    /// `now_ms` (included, aligned down): every instant at which one of them entered or left
    /// a period of the evaluation range, then the current time.
    pub fn replay_instants(&self, touched: &BTreeSet<i64>, now_ms: i64) -> Vec<i64> {
        let step = self.period_ms().min(60_000);
        let now = now_ms - now_ms.rem_euclid(step);
        let span = self.period_ms() * i64::from(self.range_periods());
        let mut out = BTreeSet::new();
        let mut capped = false;
        'outer: for &m in touched {
            let first = (m + 1) + (step - (m + 1).rem_euclid(step)).rem_euclid(step);
            let mut t = first;
            while t <= m + span + step && t < now {
                out.insert(t);
                if out.len() >= MAX_REPLAYED_EVALUATIONS {
                    capped = true;
                    break 'outer;
                }
                t += step;
            }
        }
        if capped {
            tracing::warn!(
                alarm = %self.name,
                limit = MAX_REPLAYED_EVALUATIONS,
                "too many evaluations to replay; the newest are skipped"
            );
        }
        out.insert(now);
        out.into_iter().collect()
    }
}

/// One real datapoint of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Start of the period, epoch ms.
    pub start_ms: i64,
    pub value: f64,
    pub breaching: bool,
}

/// Why an evaluation reached its state.
#[derive(Debug, Clone, PartialEq)]
pub enum Basis {
    /// Real datapoints, newest first, plus missing ones filled per treat-missing-data.
    Datapoints {
        points: Vec<Point>,
        filled: usize,
        filled_breaching: bool,
    },
    /// No datapoint in the range; `periods` missing ones treated as (non-)breaching.
    AllMissing { periods: usize, breaching: bool },
    /// No datapoint in the range, treated as missing.
    Unknown { periods: usize },
    /// `ignore`: the state is kept.
    Retained,
}

/// The result of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub state: AlarmState,
    /// The evaluation instant, epoch ms.
    pub at_ms: i64,
    pub basis: Basis,
}

/// Formats a number as Java's `Double.toString` does (CloudWatch's state reasons): `2.0`,
/// `1.5`, `1.0E7`.
pub fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let a = v.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        let s = format!("{v}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let s = format!("{v:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = if mant.contains('.') {
            mant.to_string()
        } else {
            format!("{mant}.0")
        };
        format!("{mant}E{exp}")
    }
}

/// `dd/MM/yy HH:mm:ss`, as in CloudWatch's state reasons.
pub fn reason_time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%d/%m/%y %H:%M:%S").to_string())
        .unwrap_or_default()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Evaluation {
    /// The state reason CloudWatch would give for moving from `old` to this state.
    pub fn reason(&self, def: &AlarmDefinition, old: AlarmState) -> String {
        let treated = |breaching: bool| {
            if breaching {
                "Breaching"
            } else {
                "NonBreaching"
            }
        };
        match &self.basis {
            Basis::Unknown { periods } => format!(
                "Insufficient Data: {} {} unknown.",
                plural(*periods, "datapoint", "datapoints"),
                if *periods == 1 { "was" } else { "were" }
            ),
            Basis::Retained => format!(
                "Missing data ignored: the state {old} is kept (TreatMissingData is ignore)."
            ),
            Basis::AllMissing { periods, breaching } => format!(
                "Threshold Crossed: no datapoints were received for {} and {} missing {} {} treated as [{}].",
                plural(*periods, "period", "periods"),
                periods,
                if *periods == 1 { "datapoint" } else { "datapoints" },
                if *periods == 1 { "was" } else { "were" },
                treated(*breaching)
            ),
            Basis::Datapoints {
                points,
                filled,
                filled_breaching,
            } => {
                let alarm = self.state == AlarmState::Alarm;
                let listed: Vec<&Point> =
                    points.iter().filter(|p| p.breaching == alarm).collect();
                let total = points.len() + filled;
                let list = listed
                    .iter()
                    .map(|p| format!("{} ({})", java_double(p.value), reason_time(p.start_ms)))
                    .collect::<Vec<_>>()
                    .join(", ");
                let minimum = if alarm {
                    def.datapoints_to_alarm
                } else {
                    def.evaluation_periods - def.datapoints_to_alarm + 1
                } as usize;
                let mut s = format!(
                    "Threshold Crossed: {} out of the last {total} datapoints [{list}] {} {}{} the threshold ({}) (minimum {} for {old} -> {} transition).",
                    listed.len(),
                    if listed.len() == 1 { "was" } else { "were" },
                    if alarm { "" } else { "not " },
                    def.comparison_operator.phrase(),
                    java_double(def.threshold),
                    plural(minimum, "datapoint", "datapoints"),
                    self.state,
                );
                if *filled > 0 {
                    s.push_str(&format!(
                        " {} missing {} {} treated as [{}].",
                        filled,
                        if *filled == 1 { "datapoint" } else { "datapoints" },
                        if *filled == 1 { "was" } else { "were" },
                        treated(*filled_breaching)
                    ));
                }
                s
            }
        }
    }
}

/// A state change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    pub alarm: String,
    pub old_state: AlarmState,
    pub new_state: AlarmState,
    pub reason: String,
    /// The evaluation instant that changed the state, epoch ms.
    pub evaluated_at_ms: i64,
}

impl Transition {
    /// Actions fire on a change to `ALARM` and on the way back from `ALARM` to `OK`.
    pub fn notifies(&self) -> bool {
        self.new_state == AlarmState::Alarm
            || (self.old_state == AlarmState::Alarm && self.new_state == AlarmState::Ok)
    }
}

/// An alarm's persisted state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmRecord {
    pub version: u32,
    pub alarm_name: String,
    pub state_value: AlarmState,
    pub state_reason: String,
    /// RFC 3339, when the state last changed (None: never evaluated).
    #[serde(default)]
    pub state_updated: Option<String>,
    /// Per-minute statistics by epoch ms.
    #[serde(default)]
    pub datapoints: BTreeMap<i64, Aggregate>,
    /// Sources already counted, oldest first.
    #[serde(default)]
    pub sources: VecDeque<String>,
}

impl AlarmRecord {
    /// A new alarm: `INSUFFICIENT_DATA`, nothing counted.
    pub fn new(name: &str) -> Self {
        AlarmRecord {
            version: 1,
            alarm_name: name.to_string(),
            state_value: AlarmState::InsufficientData,
            state_reason: "Unchecked: Initial alarm creation".into(),
            state_updated: None,
            datapoints: BTreeMap::new(),
            sources: VecDeque::new(),
        }
    }
}

/// New datapoints from one source (a log file, a subscription payload): per-minute statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct NewData {
    /// Identifies the source, for de-duplication (`s3://bucket/key#etag`...).
    pub source: String,
    pub minutes: BTreeMap<i64, Aggregate>,
}

/// What [`advance`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Advance {
    pub transitions: Vec<Transition>,
    /// Sources counted now.
    pub counted: Vec<String>,
    /// Sources already counted before (their datapoints were skipped).
    pub duplicates: Vec<String>,
    /// True when the record changed (it must be written back).
    pub changed: bool,
}

/// Merges new datapoints into the record (skipping sources already counted), replays the
/// evaluations they affect, evaluates at `now`, and prunes what is no longer needed.
pub fn advance(
    def: &AlarmDefinition,
    rec: &mut AlarmRecord,
    new: &[NewData],
    now: DateTime<Utc>,
) -> Advance {
    let mut out = Advance::default();
    let mut touched = BTreeSet::new();
    for d in new {
        if rec.sources.iter().any(|s| s == &d.source) {
            out.duplicates.push(d.source.clone());
            continue;
        }
        for (t, a) in &d.minutes {
            rec.datapoints
                .entry(*t)
                .and_modify(|x| x.merge(a))
                .or_insert(*a);
            touched.insert(*t);
        }
        rec.sources.push_back(d.source.clone());
        while rec.sources.len() > MAX_REMEMBERED_SOURCES {
            rec.sources.pop_front();
        }
        out.counted.push(d.source.clone());
        out.changed = true;
    }
    let now_ms = now.timestamp_millis();
    for at in def.replay_instants(&touched, now_ms) {
        let e = def.evaluate(&rec.datapoints, at, rec.state_value);
        if e.state != rec.state_value {
            let reason = e.reason(def, rec.state_value);
            out.transitions.push(Transition {
                alarm: def.name.clone(),
                old_state: rec.state_value,
                new_state: e.state,
                reason: reason.clone(),
                evaluated_at_ms: at,
            });
            rec.state_value = e.state;
            rec.state_reason = reason;
            rec.state_updated = Some(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
            out.changed = true;
        }
    }
    // Keep what later evaluations (and late files) can still need.
    let keep_from =
        now_ms - def.period_ms() * i64::from(def.range_periods()) - LATE_DATA_MS - 60_000;
    let before = rec.datapoints.len();
    rec.datapoints = rec.datapoints.split_off(&keep_from);
    while rec.datapoints.len() > MAX_BUCKETS {
        rec.datapoints.pop_first();
    }
    if rec.datapoints.len() != before {
        out.changed = true;
    }
    out
}

/// The state object's key for an alarm: `<prefix><name>.json`, the name percent-encoded
/// except for letters, digits, `-`, `_` and `.` (so no name can leave the prefix).
pub fn state_key(prefix: &str, alarm_name: &str) -> String {
    let mut k = String::with_capacity(prefix.len() + alarm_name.len() + 5);
    k.push_str(prefix);
    for b in alarm_name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && !k.ends_with('.')) {
            k.push(b as char);
        } else {
            k.push_str(&format!("%{b:02X}"));
        }
    }
    k.push_str(".json");
    k
}

/// The outcome of [`update_alarm`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlarmUpdate {
    pub transitions: Vec<Transition>,
    pub counted: Vec<String>,
    pub duplicates: Vec<String>,
    /// The state object was written.
    pub written: bool,
    /// Conditional writes refused because someone else wrote first.
    pub conflicts: u32,
    /// The stored state was unreadable and was reset (logged).
    pub reset: bool,
    /// The record as written (or as read, when nothing changed).
    pub record: Option<AlarmRecord>,
}

/// Reads the alarm's state, [`advance`]s it and writes it back conditionally, re-reading and
/// redoing the update when another invocation wrote first.
pub async fn update_alarm(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    def: &AlarmDefinition,
    new: &[NewData],
    now: DateTime<Utc>,
) -> Result<AlarmUpdate, AlarmError> {
    let store_err = |source: StoreError| AlarmError::Store {
        alarm: def.name.clone(),
        source,
    };
    let mut conflicts = 0;
    for attempt in 0..MAX_WRITE_ATTEMPTS {
        let (mut rec, etag, exists, reset) = match store.get(bucket, key).await {
            Ok(obj) => match serde_json::from_slice::<AlarmRecord>(&obj.body) {
                Ok(r) => (r, obj.etag, true, false),
                Err(e) => {
                    tracing::error!(
                        alarm = %def.name,
                        key,
                        error = %e,
                        "alarm state unreadable; starting again from INSUFFICIENT_DATA"
                    );
                    (AlarmRecord::new(&def.name), obj.etag, true, true)
                }
            },
            Err(e) if e.is_not_found() => (AlarmRecord::new(&def.name), None, false, false),
            Err(e) => return Err(store_err(e)),
        };
        rec.alarm_name = def.name.clone();
        let adv = advance(def, &mut rec, new, now);
        if !adv.changed && !reset {
            return Ok(AlarmUpdate {
                transitions: adv.transitions,
                counted: adv.counted,
                duplicates: adv.duplicates,
                written: false,
                conflicts,
                reset,
                record: Some(rec),
            });
        }
        let body = match serde_json::to_vec(&rec) {
            Ok(b) => b,
            Err(e) => {
                return Err(invalid(
                    &def.name,
                    "state",
                    format!("cannot be serialized: {e}"),
                ))
            }
        };
        let put = Put {
            body,
            content_type: Some("application/json".into()),
            if_none_match: !exists,
            if_match: if exists { etag.clone() } else { None },
            ..Put::default()
        };
        match store.put(bucket, key, put).await {
            Ok(_) => {
                return Ok(AlarmUpdate {
                    transitions: adv.transitions,
                    counted: adv.counted,
                    duplicates: adv.duplicates,
                    written: true,
                    conflicts,
                    reset,
                    record: Some(rec),
                })
            }
            Err(
                StoreError::AlreadyExists { .. }
                | StoreError::Conflict { .. }
                | StoreError::NotFound { .. },
            ) => {
                conflicts += 1;
                tracing::debug!(alarm = %def.name, attempt, "alarm state changed concurrently; retrying");
                tokio::time::sleep(backoff(attempt, &def.name)).await;
            }
            Err(e) => return Err(store_err(e)),
        }
    }
    Err(AlarmError::Contention {
        alarm: def.name.clone(),
        bucket: bucket.into(),
        key: key.into(),
        attempts: MAX_WRITE_ATTEMPTS,
    })
}

/// Exponential backoff with jitter (from the clock: no random source needed).
fn backoff(attempt: u32, salt: &str) -> Duration {
    let base = 10u64 << attempt.min(6);
    let nanos = Utc::now().timestamp_subsec_nanos() as u64;
    let s: u64 = salt.bytes().map(u64::from).sum();
    Duration::from_millis(base + (nanos ^ s.wrapping_mul(2_654_435_761)) % base)
}

#[cfg(test)]
mod tests;

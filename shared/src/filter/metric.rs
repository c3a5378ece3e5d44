//! Metric filters: PutMetricFilter's definition (same JSON field names), validation, and the
//! datapoints each log event produces.
//!
//! A matching event contributes one sample of `metricValue` (a number, `$.field` for JSON
//! patterns, `$name`/`$N` for space-delimited patterns; a numeric string is accepted, a
//! non-number or missing field publishes nothing). With `defaultValue`, each non-matching event
//! contributes one sample of it. Datapoints are stamped with the event time rounded down to the
//! minute. Dimension values come from the event like `metricValue`; an event whose dimension
//! field is missing (or not a string/number) publishes nothing.

use super::error::FilterError;
use super::json;
use super::scan::{self, Plan, Scratch, Segment, Value};
use super::{FilterPattern, PatternKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// CloudWatch's `StandardUnit` values.
pub const STANDARD_UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Maximum dimensions per transformation.
pub const MAX_DIMENSIONS: usize = 3;

/// A metric filter as PutMetricFilter / DescribeMetricFilters spell it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricFilter {
    /// `filterName`
    pub filter_name: String,
    /// `filterPattern`
    pub filter_pattern: String,
    /// `metricTransformations` (exactly one).
    pub metric_transformations: Vec<MetricTransformation>,
    /// `logGroupName` (optional here: the log group is where the filter is attached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group_name: Option<String>,
}

/// One metric transformation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricTransformation {
    /// `metricName`
    pub metric_name: String,
    /// `metricNamespace`
    pub metric_namespace: String,
    /// `metricValue`: a number, `$.selector`, `$name` or `$N`.
    pub metric_value: String,
    /// `defaultValue`: published for non-matching events (exclusive with dimensions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<f64>,
    /// `dimensions`: name -> `$.selector` / `$name` (at most 3).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, String>,
    /// `unit`: a CloudWatch standard unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// One datapoint produced by one log event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricDatum {
    /// Namespace of the metric.
    pub namespace: String,
    /// Name of the metric.
    pub metric_name: String,
    /// Dimension name/value pairs (sorted by name).
    pub dimensions: Vec<(String, String)>,
    /// The event time rounded down to the minute, in epoch milliseconds.
    pub timestamp_ms: i64,
    /// The sample.
    pub value: f64,
    /// The unit, if configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// Where a metric value or a dimension value comes from.
#[derive(Debug, Clone)]
enum Source {
    Constant(f64),
    /// JSON selector: slot in `CompiledMetricFilter::plan`.
    Json(u32),
    /// Space-delimited extracted value `$name` / `$N` (stored without `$`).
    Field(String),
}

/// A validated metric filter, ready to evaluate events.
#[derive(Debug, Clone)]
pub struct CompiledMetricFilter {
    definition: MetricFilter,
    pattern: FilterPattern,
    value: Source,
    dimensions: Vec<(String, Source)>,
    plan: Plan,
}

fn check_name(field: &str, v: &str, max: usize, forbidden: &[char]) -> Result<(), FilterError> {
    let n = v.chars().count();
    if n == 0 || n > max {
        return Err(FilterError::metric(
            field,
            format!("must be 1 to {max} characters (got {n})"),
        ));
    }
    if let Some(c) = v.chars().find(|c| forbidden.contains(c)) {
        return Err(FilterError::metric(
            field,
            format!("must not contain '{c}'"),
        ));
    }
    Ok(())
}

impl MetricFilter {
    /// Parses the JSON of a metric filter (PutMetricFilter's field names) and validates it.
    pub fn from_json(text: &str) -> Result<CompiledMetricFilter, FilterError> {
        let def: MetricFilter = serde_json::from_str(text)
            .map_err(|e| FilterError::metric("definition", e.to_string()))?;
        def.compile()
    }

    /// Validates the definition and compiles its pattern and value sources.
    pub fn compile(&self) -> Result<CompiledMetricFilter, FilterError> {
        check_name("filterName", &self.filter_name, 512, &[':', '*'])?;
        let pattern =
            FilterPattern::parse(&self.filter_pattern).map_err(|e| FilterError::Metric {
                field: "filterPattern".into(),
                reason: e.to_string(),
            })?;
        if self.metric_transformations.len() != 1 {
            return Err(FilterError::metric(
                "metricTransformations",
                format!(
                    "must have exactly 1 transformation (got {})",
                    self.metric_transformations.len()
                ),
            ));
        }
        let t = &self.metric_transformations[0];
        let f = |name: &str| format!("metricTransformations[0].{name}");
        check_name(&f("metricName"), &t.metric_name, 255, &[':', '*', '$'])?;
        check_name(
            &f("metricNamespace"),
            &t.metric_namespace,
            255,
            &[':', '*', '$'],
        )?;
        if let Some(d) = t.default_value {
            if !d.is_finite() {
                return Err(FilterError::metric(
                    f("defaultValue"),
                    "must be a finite number",
                ));
            }
            if !t.dimensions.is_empty() {
                return Err(FilterError::metric(
                    f("defaultValue"),
                    "a transformation cannot have both defaultValue and dimensions",
                ));
            }
        }
        if t.dimensions.len() > MAX_DIMENSIONS {
            return Err(FilterError::metric(
                f("dimensions"),
                format!(
                    "at most {MAX_DIMENSIONS} dimensions (got {})",
                    t.dimensions.len()
                ),
            ));
        }
        if let Some(u) = &t.unit {
            if !STANDARD_UNITS.contains(&u.as_str()) {
                return Err(FilterError::metric(
                    f("unit"),
                    format!("'{u}' is not a CloudWatch standard unit"),
                ));
            }
        }
        let mut plan = Plan::default();
        let value = source(
            &f("metricValue"),
            &t.metric_value,
            &pattern,
            &mut plan,
            true,
        )?;
        let mut dimensions = Vec::new();
        for (k, v) in &t.dimensions {
            check_name(&f("dimensions"), k, 255, &[])?;
            let src = source(
                &format!("{}.{k}", f("dimensions")),
                v,
                &pattern,
                &mut plan,
                false,
            )?;
            dimensions.push((k.clone(), src));
        }
        Ok(CompiledMetricFilter {
            definition: self.clone(),
            pattern,
            value,
            dimensions,
            plan,
        })
    }
}

fn source(
    field: &str,
    v: &str,
    pattern: &FilterPattern,
    plan: &mut Plan,
    allow_constant: bool,
) -> Result<Source, FilterError> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > 100 {
        return Err(FilterError::metric(field, "must be 1 to 100 characters"));
    }
    if let Some(sel) = v
        .strip_prefix("$.")
        .map(|_| v)
        .or_else(|| v.strip_prefix("$[").map(|_| v))
    {
        if pattern.kind() != PatternKind::Json {
            return Err(FilterError::metric(
                field,
                format!("'{sel}' is a JSON selector but the filter pattern is not a JSON pattern"),
            ));
        }
        let path =
            json::parse_selector(sel).map_err(|e| FilterError::metric(field, e.to_string()))?;
        if path.contains(&Segment::Wildcard) {
            return Err(FilterError::metric(
                field,
                format!("'{sel}': wildcards are not allowed here"),
            ));
        }
        return Ok(Source::Json(plan.add_path(&path)));
    }
    if let Some(name) = v.strip_prefix('$') {
        if pattern.kind() != PatternKind::SpaceDelimited {
            return Err(FilterError::metric(
                field,
                format!("'{v}' names a space-delimited field but the filter pattern is not space-delimited"),
            ));
        }
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Err(FilterError::metric(
                field,
                format!("'{v}' is not a field reference"),
            ));
        }
        if !pattern.has_field(name) {
            return Err(FilterError::metric(
                field,
                format!("'{v}' is not a field of the pattern '{}'", pattern.as_str()),
            ));
        }
        return Ok(Source::Field(name.to_string()));
    }
    if allow_constant {
        if let Some(x) = super::lexer::parse_number(v.as_bytes()) {
            return Ok(Source::Constant(x));
        }
    }
    Err(FilterError::metric(
        field,
        if allow_constant {
            format!("'{v}' is not a number, '$.selector', '$name' or '$N'")
        } else {
            format!("'{v}' is not a '$.selector' or '$name'")
        },
    ))
}

/// Rounds epoch milliseconds down to the minute.
pub fn round_to_minute(timestamp_ms: i64) -> i64 {
    timestamp_ms - timestamp_ms.rem_euclid(60_000)
}

impl CompiledMetricFilter {
    /// The definition this was compiled from.
    pub fn definition(&self) -> &MetricFilter {
        &self.definition
    }

    /// The compiled filter pattern.
    pub fn pattern(&self) -> &FilterPattern {
        &self.pattern
    }

    fn transformation(&self) -> &MetricTransformation {
        &self.definition.metric_transformations[0]
    }

    /// The datapoints of one log event (`timestamp_ms` = the event's time): zero or one.
    pub fn datapoints(&self, message: &str, timestamp_ms: i64) -> Vec<MetricDatum> {
        let matched = self.pattern.evaluate(message);
        self.datapoints_matched(message, matched.as_ref(), timestamp_ms)
    }

    /// Same as [`CompiledMetricFilter::datapoints`] when the match was already computed (for
    /// example by a [`super::FilterSet`]): `extracted` is `Some` iff the event matched.
    pub fn datapoints_matched(
        &self,
        message: &str,
        extracted: Option<&super::Extracted>,
        timestamp_ms: i64,
    ) -> Vec<MetricDatum> {
        let t = self.transformation();
        let datum = |value: f64, dimensions: Vec<(String, String)>| MetricDatum {
            namespace: t.metric_namespace.clone(),
            metric_name: t.metric_name.clone(),
            dimensions,
            timestamp_ms: round_to_minute(timestamp_ms),
            value,
            unit: t.unit.clone(),
        };
        let Some(extracted) = extracted else {
            return t
                .default_value
                .map(|d| vec![datum(d, Vec::new())])
                .unwrap_or_default();
        };
        let mut scratch = Scratch::default();
        let vals = if self.plan.is_empty() {
            None
        } else {
            scan::scan_message(&self.plan, message.as_bytes(), &mut scratch)
        };
        let text_of = |src: &Source| -> Option<String> {
            match src {
                Source::Constant(x) => Some(x.to_string()),
                Source::Field(name) => extracted.get(name).map(str::to_string),
                Source::Json(slot) => match vals.as_ref()?.slot(*slot).next()? {
                    Value::Str(s) | Value::Num(s) => Some(String::from_utf8_lossy(s).into_owned()),
                    _ => None,
                },
            }
        };
        let value = match &self.value {
            Source::Constant(x) => *x,
            other => {
                match text_of(other).and_then(|s| super::lexer::parse_number(s.trim().as_bytes())) {
                    Some(x) if x.is_finite() => x,
                    _ => return Vec::new(),
                }
            }
        };
        let mut dims = Vec::with_capacity(self.dimensions.len());
        for (name, src) in &self.dimensions {
            match text_of(src) {
                Some(v) => dims.push((name.clone(), v)),
                None => return Vec::new(),
            }
        }
        vec![datum(value, dims)]
    }
}

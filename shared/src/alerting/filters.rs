//! The filters the alerting function runs: the 15 built-in CIS filters and user filters from a
//! YAML or JSON file, compiled together into one [`FilterSet`], with their alarms.
//!
//! A user filter file holds a list of filters (or `{"metricFilters": [...]}`, the shape of
//! `aws logs describe-metric-filters`). Each filter has PutMetricFilter's fields
//! (`filterName`, `filterPattern`, `metricTransformations`) and optionally `alarm`, with
//! PutMetricAlarm's field names; every alarm field is optional: `TreatMissingData` defaults to
//! `missing` and `DatapointsToAlarm` to `EvaluationPeriods`, as in CloudWatch, the others to the
//! CIS alarm settings (`Sum` over 300 s, `GreaterThanOrEqualToThreshold` 1, 1 period):
//!
//! ```yaml
//! - filterName: DeleteBucket
//!   filterPattern: '{ $.eventSource = "s3.amazonaws.com" && $.eventName = "DeleteBucket" }'
//!   metricTransformations:
//!     - metricName: DeleteBucketCount
//!       metricNamespace: Custom/Security
//!       metricValue: "1"
//!   alarm:
//!     AlarmDescription: A bucket was deleted
//!     Threshold: 1
//! ```
//!
//! A filter without `alarm` only publishes its metric. An alarm on a metric with dimensions
//! names the dimension values it watches (`Dimensions: [{Name: ..., Value: ...}]`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use thiserror::Error;

use crate::alarm::{AlarmDefinition, ComparisonOperator, MetricId, Statistic, TreatMissingData};
use crate::filter::cis::{self, AlarmSettings};
use crate::filter::metric::{CompiledMetricFilter, MetricFilter, MetricTransformation};
use crate::filter::{FilterSet, PatternKind};

/// A problem with the filters configuration.
#[derive(Debug, Error)]
pub enum FiltersError {
    #[error("cannot read the filters file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the filters file {path} is not valid {format}: {message}")]
    Parse {
        path: String,
        format: &'static str,
        message: String,
    },
    #[error("the filters file {path}, filter #{index} ({name:?}): {message}")]
    Invalid {
        path: String,
        /// 1-based position in the file.
        index: usize,
        name: String,
        message: String,
    },
    #[error("the filters file {path}: {message}")]
    Conflict { path: String, message: String },
}

/// An alarm dimension.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DimensionSpec {
    pub name: String,
    pub value: String,
}

/// A user alarm's settings (PutMetricAlarm's names; all optional).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AlarmSpec {
    pub alarm_name: Option<String>,
    pub alarm_description: Option<String>,
    pub statistic: Option<String>,
    pub period: Option<u32>,
    pub evaluation_periods: Option<u32>,
    pub datapoints_to_alarm: Option<u32>,
    pub threshold: Option<f64>,
    pub comparison_operator: Option<String>,
    pub treat_missing_data: Option<String>,
    #[serde(default)]
    pub dimensions: Vec<DimensionSpec>,
}

/// A user filter as written in the file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserFilter {
    pub filter_name: String,
    pub filter_pattern: String,
    pub metric_transformations: Vec<MetricTransformation>,
    #[serde(default)]
    pub log_group_name: Option<String>,
    #[serde(default)]
    pub alarm: Option<AlarmSpec>,
    /// Accepted (and ignored) so that `describe-metric-filters` output can be used as is.
    #[serde(default, rename = "creationTime")]
    pub _creation_time: Option<serde_json::Value>,
    #[serde(default, rename = "applyOnTransformedLogs")]
    pub _apply_on_transformed_logs: Option<serde_json::Value>,
}

/// Parses a filters file's text. `path` names it in errors; a `.json` path (or text starting
/// with `{`/`[`) is read as JSON, anything else as YAML.
pub fn parse_filters(path: &str, text: &str) -> Result<Vec<UserFilter>, FiltersError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let json = path.ends_with(".json") || trimmed.starts_with('{') || trimmed.starts_with('[');
    let parse_err = |format: &'static str, message: String| FiltersError::Parse {
        path: path.into(),
        format,
        message,
    };
    let (format, doc): (&'static str, serde_json::Value) = if json {
        let v = serde_json::from_str(trimmed).map_err(|e| parse_err("JSON", e.to_string()))?;
        ("JSON", v)
    } else {
        if trimmed.is_empty() {
            return Ok(Vec::new());
        }
        let v = serde_yaml::from_str(trimmed).map_err(|e| parse_err("YAML", e.to_string()))?;
        ("YAML", v)
    };
    let items = match doc {
        serde_json::Value::Array(v) => v,
        serde_json::Value::Object(mut m) if m.len() == 1 && m.contains_key("metricFilters") => {
            match m.remove("metricFilters") {
                Some(serde_json::Value::Array(v)) => v,
                _ => return Err(parse_err(format, "metricFilters must be a list".into())),
            }
        }
        serde_json::Value::Null => Vec::new(),
        _ => {
            return Err(parse_err(
                format,
                "expected a list of filters, or {\"metricFilters\": [...]} as aws logs describe-metric-filters prints it".into(),
            ))
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let name = v
                .get("filterName")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
                .to_string();
            serde_json::from_value::<UserFilter>(v).map_err(|e| FiltersError::Invalid {
                path: path.into(),
                index: i + 1,
                name,
                message: e.to_string(),
            })
        })
        .collect()
}

/// Reads and parses a filters file.
pub fn load_filters_file(path: &Path) -> Result<Vec<UserFilter>, FiltersError> {
    let p = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| FiltersError::Read {
        path: p.clone(),
        source,
    })?;
    parse_filters(&p, &text)
}

/// One compiled filter of the engine.
#[derive(Debug, Clone)]
pub struct EngineFilter {
    pub filter: CompiledMetricFilter,
    /// True for the built-in CIS filters.
    pub builtin: bool,
    /// The pattern extracts fields (space-delimited): re-evaluated for the extracted values.
    pub extracts: bool,
}

/// The filters and alarms, compiled; pattern `i` of [`Engine::set`] is filter `i`.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    set: FilterSet,
    filters: Vec<EngineFilter>,
    alarms: Vec<AlarmDefinition>,
    has_default_values: bool,
}

fn cis_description(f: &cis::CisFilter) -> String {
    match f.security_hub_id {
        Some(id) => format!(
            "CIS AWS Foundations Benchmark {} / Security Hub {}: {}",
            f.cis_id, id, f.name
        ),
        None => format!("CIS AWS Foundations Benchmark {}: {}", f.cis_id, f.name),
    }
}

impl Engine {
    /// The CIS filters in `cis_namespace` (None: without them) plus the user filters.
    /// `source` names the user filters' origin in errors.
    pub fn new(
        cis_namespace: Option<&str>,
        user: &[UserFilter],
        source: &str,
    ) -> Result<Engine, FiltersError> {
        let mut e = Engine::default();
        let conflict = |message: String| FiltersError::Conflict {
            path: source.into(),
            message,
        };
        if let Some(ns) = cis_namespace {
            for f in &cis::CIS_FILTERS {
                let compiled = f.metric_filter(ns).compile().map_err(|err| {
                    conflict(format!(
                        "METRIC_NAMESPACE {ns:?} cannot be used for the CIS filters: {err}"
                    ))
                })?;
                e.push(compiled, true);
                let def = AlarmDefinition::from_settings(&f.alarm(ns), Some(cis_description(f)))
                    .map_err(|err| conflict(err.to_string()))?;
                e.alarms.push(def);
            }
        }
        for (i, u) in user.iter().enumerate() {
            let invalid = |message: String| FiltersError::Invalid {
                path: source.into(),
                index: i + 1,
                name: u.filter_name.clone(),
                message,
            };
            let def = MetricFilter {
                filter_name: u.filter_name.clone(),
                filter_pattern: u.filter_pattern.clone(),
                metric_transformations: u.metric_transformations.clone(),
                log_group_name: u.log_group_name.clone(),
            };
            let compiled = def.compile().map_err(|err| invalid(err.to_string()))?;
            if e.filters
                .iter()
                .any(|f| f.filter.definition().filter_name == u.filter_name)
            {
                return Err(invalid(format!(
                    "filterName {:?} is already used{}",
                    u.filter_name,
                    if cis::find(&u.filter_name).is_some() && cis_namespace.is_some() {
                        " by a built-in CIS filter (rename it, or set ENABLE_CIS_FILTERS=false)"
                    } else {
                        ""
                    }
                )));
            }
            let t = &u.metric_transformations[0];
            if let Some(spec) = &u.alarm {
                let def = user_alarm(u, t, spec).map_err(invalid)?;
                if e.alarms.iter().any(|a| a.name == def.name) {
                    return Err(invalid(format!(
                        "AlarmName {:?} is already used by another alarm",
                        def.name
                    )));
                }
                e.alarms.push(def);
            }
            e.push(compiled, false);
        }
        Ok(e)
    }

    /// As [`Engine::new`], with the user filters read from `filters_file` (None: none).
    pub fn load(
        cis_namespace: Option<&str>,
        filters_file: Option<&Path>,
    ) -> Result<Engine, FiltersError> {
        let (user, source) = match filters_file {
            Some(p) => (load_filters_file(p)?, p.display().to_string()),
            None => (Vec::new(), "(no FILTERS_FILE)".to_string()),
        };
        Engine::new(cis_namespace, &user, &source)
    }

    fn push(&mut self, f: CompiledMetricFilter, builtin: bool) {
        let extracts = f.pattern().kind() == PatternKind::SpaceDelimited;
        self.has_default_values |= f.definition().metric_transformations[0]
            .default_value
            .is_some();
        self.set.push(f.pattern().clone());
        self.filters.push(EngineFilter {
            filter: f,
            builtin,
            extracts,
        });
    }

    /// All patterns, compiled together.
    pub fn set(&self) -> &FilterSet {
        &self.set
    }

    /// The filters, in the set's order.
    pub fn filters(&self) -> &[EngineFilter] {
        &self.filters
    }

    /// The alarms.
    pub fn alarms(&self) -> &[AlarmDefinition] {
        &self.alarms
    }

    /// True when some filter publishes a default value for non-matching events (then every
    /// event produces datapoints).
    pub fn has_default_values(&self) -> bool {
        self.has_default_values
    }

    /// Every metric the filters can publish to, by namespace and name.
    pub fn metric_names(&self) -> BTreeSet<(String, String)> {
        self.filters
            .iter()
            .map(|f| {
                let t = &f.filter.definition().metric_transformations[0];
                (t.metric_namespace.clone(), t.metric_name.clone())
            })
            .collect()
    }
}

fn user_alarm(
    u: &UserFilter,
    t: &MetricTransformation,
    spec: &AlarmSpec,
) -> Result<AlarmDefinition, String> {
    let d = AlarmSettings::default();
    let name = spec
        .alarm_name
        .clone()
        .unwrap_or_else(|| u.filter_name.clone());
    let one_of = |field: &str, v: &str, all: &[&str]| {
        format!(
            "alarm.{field} {v:?} is not valid: expected one of {}",
            all.join(", ")
        )
    };
    let statistic = spec.statistic.as_deref().unwrap_or(&d.statistic);
    let op = spec
        .comparison_operator
        .as_deref()
        .unwrap_or(&d.comparison_operator);
    // CloudWatch's default, unlike the CIS alarms' notBreaching.
    let tmd = spec
        .treat_missing_data
        .as_deref()
        .unwrap_or(TreatMissingData::Missing.as_str());
    let evaluation_periods = spec.evaluation_periods.unwrap_or(d.evaluation_periods);
    let dims: Vec<(String, String)> = spec
        .dimensions
        .iter()
        .map(|x| (x.name.clone(), x.value.clone()))
        .collect();
    let published: BTreeSet<&str> = t.dimensions.keys().map(String::as_str).collect();
    let watched: BTreeSet<&str> = dims.iter().map(|(n, _)| n.as_str()).collect();
    if published != watched {
        return Err(format!(
            "alarm.Dimensions must name exactly the metric's dimensions {:?} (got {:?}): the metric is published with those, and an alarm watches one exact dimension set",
            published, watched
        ));
    }
    let def = AlarmDefinition {
        name,
        description: spec.alarm_description.clone(),
        metric: MetricId::new(&t.metric_namespace, &t.metric_name, dims),
        statistic: Statistic::parse(statistic)
            .ok_or_else(|| one_of("Statistic", statistic, Statistic::ALL))?,
        period: spec.period.unwrap_or(d.period),
        evaluation_periods,
        // CloudWatch: DatapointsToAlarm defaults to EvaluationPeriods.
        datapoints_to_alarm: spec.datapoints_to_alarm.unwrap_or(evaluation_periods),
        threshold: spec.threshold.unwrap_or(d.threshold),
        comparison_operator: ComparisonOperator::parse(op)
            .ok_or_else(|| one_of("ComparisonOperator", op, ComparisonOperator::ALL))?,
        treat_missing_data: TreatMissingData::parse(tmd)
            .ok_or_else(|| one_of("TreatMissingData", tmd, TreatMissingData::ALL))?,
    };
    def.validate().map_err(|e| match e {
        crate::alarm::AlarmError::Invalid { field, reason, .. } => {
            format!("alarm.{field} {reason}")
        }
        other => other.to_string(),
    })?;
    Ok(def)
}

/// Counts per filter name (for reports).
pub fn zero_counts(engine: &Engine) -> BTreeMap<String, usize> {
    engine
        .filters()
        .iter()
        .map(|f| (f.filter.definition().filter_name.clone(), 0))
        .collect()
}

//! The remediator's configuration (environment variables the template sets).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use thiserror::Error;

use crate::layout::{LayoutError, TrailArn, TrailLocation};
use crate::runbooks::{self, ParamError, Runbook};

/// A configuration problem, naming the variable.
#[derive(Debug, Error)]
pub enum SettingsError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{name}={value:?} is not valid: {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: String,
    },
    #[error("RULE_RUNBOOKS: rule {rule:?}: {message}")]
    Mapping { rule: String, message: String },
    #[error("RULE_RUNBOOKS: rule {rule:?}: {source}")]
    Param {
        rule: String,
        #[source]
        source: ParamError,
    },
    #[error(transparent)]
    Layout(#[from] LayoutError),
}

/// What a Config rule's non-compliance runs.
#[derive(Debug, Clone)]
pub struct RuleMapping {
    pub runbook: &'static dyn Runbook,
    /// Static parameters (the resource id is added per event).
    pub parameters: Map<String, Value>,
    /// Per-rule dry-run (`None` = the global setting).
    pub dry_run: Option<bool>,
}

/// Everything the engine needs to know.
#[derive(Debug, Clone)]
pub struct RemediationSettings {
    /// The trail bucket and prefix: where the state is kept and the trail's logs are read.
    pub trail: TrailLocation,
    /// The suite's own trail (for the tampering trigger).
    pub trail_arn: Option<TrailArn>,
    /// Config rule name → runbook.
    pub rules: BTreeMap<String, RuleMapping>,
    /// Global dry-run.
    pub dry_run: bool,
    /// Resource ids (or ARNs) never remediated.
    pub exempt_ids: BTreeSet<String>,
    /// Attempts per resource within the window before an exception (Config default 5, max 25).
    pub max_attempts: u32,
    /// The window, in seconds (Config default 60).
    pub retry_window_seconds: u32,
    /// Day folders of the trail searched for "who caused it".
    pub cause_lookback_days: u32,
    /// Most trail log files read per search.
    pub cause_max_files: usize,
}

impl RemediationSettings {
    /// Settings with defaults and no rule mappings.
    pub fn new(trail: TrailLocation) -> Self {
        Self {
            trail,
            trail_arn: None,
            rules: BTreeMap::new(),
            dry_run: false,
            exempt_ids: BTreeSet::new(),
            max_attempts: 5,
            retry_window_seconds: 60,
            cause_lookback_days: 7,
            cause_max_files: 500,
        }
    }

    /// Adds a rule mapping from its JSON form (see [`parse_rule_runbooks`]).
    pub fn map_rule(&mut self, rule: &str, v: &Value) -> Result<(), SettingsError> {
        let m = parse_mapping(rule, v)?;
        self.rules.insert(rule.to_string(), m);
        Ok(())
    }

    /// Reads `TRAIL_BUCKET`, `S3_KEY_PREFIX`, `TRAIL_ARN`, `RULE_RUNBOOKS`, `DRY_RUN`,
    /// `EXEMPT_RESOURCE_IDS`, `MAX_ATTEMPTS`, `RETRY_WINDOW_SECONDS`, `CAUSE_LOOKBACK_DAYS`,
    /// `CAUSE_MAX_FILES`.
    pub fn from_env_with(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let nonempty = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let bucket = nonempty("TRAIL_BUCKET").ok_or(SettingsError::Missing("TRAIL_BUCKET"))?;
        let prefix = nonempty("S3_KEY_PREFIX");
        let mut s = Self::new(TrailLocation::new(&bucket, prefix.as_deref(), None)?);
        if let Some(a) = nonempty("TRAIL_ARN") {
            s.trail_arn = Some(TrailArn::parse(&a)?);
        }
        if let Some(m) = nonempty("RULE_RUNBOOKS") {
            s.rules = parse_rule_runbooks(&m)?;
        }
        s.dry_run = match nonempty("DRY_RUN")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("false") | Some("0") | Some("no") => false,
            Some("true") | Some("1") | Some("yes") => true,
            Some(v) => {
                return Err(SettingsError::Invalid {
                    name: "DRY_RUN",
                    value: v.into(),
                    expected: "true or false".into(),
                })
            }
        };
        s.exempt_ids = nonempty("EXEMPT_RESOURCE_IDS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect();
        let num =
            |name: &'static str, default: u32, min: u32, max: u32| -> Result<u32, SettingsError> {
                match nonempty(name) {
                    None => Ok(default),
                    Some(v) => v
                        .parse::<u32>()
                        .ok()
                        .filter(|n| (min..=max).contains(n))
                        .ok_or(SettingsError::Invalid {
                            name,
                            value: v,
                            expected: format!("a whole number from {min} to {max}"),
                        }),
                }
            };
        s.max_attempts = num("MAX_ATTEMPTS", 5, 1, 25)?;
        s.retry_window_seconds = num("RETRY_WINDOW_SECONDS", 60, 1, 86_400 * 7)?;
        s.cause_lookback_days = num("CAUSE_LOOKBACK_DAYS", 7, 1, 90)?;
        s.cause_max_files = num("CAUSE_MAX_FILES", 500, 1, 100_000)? as usize;
        Ok(s)
    }

    /// Whether a resource id (or its ARN) is on the exemption list.
    pub fn is_exempt_id(&self, id: &str, arn: Option<&str>) -> bool {
        self.exempt_ids.contains(id) || arn.is_some_and(|a| self.exempt_ids.contains(a))
    }
}

fn parse_mapping(rule: &str, v: &Value) -> Result<RuleMapping, SettingsError> {
    let err = |m: String| SettingsError::Mapping {
        rule: rule.to_string(),
        message: m,
    };
    let (name, params, dry_run) = match v {
        Value::String(s) => (s.as_str(), Map::new(), None),
        Value::Object(o) => {
            for k in o.keys() {
                if !["runbook", "parameters", "dryRun"].contains(&k.as_str()) {
                    return Err(err(format!("unknown key {k:?} (expected runbook, parameters, dryRun)")));
                }
            }
            let name = o
                .get("runbook")
                .and_then(Value::as_str)
                .ok_or_else(|| err("\"runbook\" (a runbook name) is required".into()))?;
            let params = match o.get("parameters") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(p)) => p.clone(),
                Some(_) => return Err(err("\"parameters\" must be an object".into())),
            };
            let dry_run = match o.get("dryRun") {
                None | Some(Value::Null) => None,
                Some(Value::Bool(b)) => Some(*b),
                Some(_) => return Err(err("\"dryRun\" must be true or false".into())),
            };
            (name, params, dry_run)
        }
        _ => return Err(err("expected a runbook name or {\"runbook\": ..., \"parameters\": {...}, \"dryRun\": bool}".into())),
    };
    let runbook = runbooks::find(name).ok_or_else(|| {
        err(format!(
            "unknown runbook {name:?}; known: {}",
            runbooks::names().join(", ")
        ))
    })?;
    runbooks::check_static_params(runbook, &params).map_err(|source| SettingsError::Param {
        rule: rule.to_string(),
        source,
    })?;
    Ok(RuleMapping {
        runbook,
        parameters: params,
        dry_run,
    })
}

/// Parses `RULE_RUNBOOKS`: a JSON object from Config rule name to a runbook name, or to
/// `{"runbook": NAME, "parameters": {...}, "dryRun": true|false}`.
pub fn parse_rule_runbooks(text: &str) -> Result<BTreeMap<String, RuleMapping>, SettingsError> {
    let v: Value = serde_json::from_str(text).map_err(|e| SettingsError::Invalid {
        name: "RULE_RUNBOOKS",
        value: text.chars().take(80).collect(),
        expected: format!("a JSON object (rule name → runbook): {e}"),
    })?;
    let obj = v.as_object().ok_or_else(|| SettingsError::Invalid {
        name: "RULE_RUNBOOKS",
        value: text.chars().take(80).collect(),
        expected: "a JSON object (rule name → runbook)".into(),
    })?;
    obj.iter()
        .map(|(rule, m)| Ok((rule.clone(), parse_mapping(rule, m)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn reads_everything() {
        let s = RemediationSettings::from_env_with(&env(&[
            ("TRAIL_BUCKET", "tb"),
            ("S3_KEY_PREFIX", "audit/"),
            ("TRAIL_ARN", "arn:aws:cloudtrail:us-east-1:123456789012:trail/trailwarden"),
            (
                "RULE_RUNBOOKS",
                r#"{"s3-bucket-versioning-enabled": "AWS-ConfigureS3BucketVersioning",
                    "restricted-ssh": {"runbook": "AWS-DisablePublicAccessForSecurityGroup", "dryRun": true},
                    "required-tags": {"runbook": "TrailWarden-SetRequiredTags", "parameters": {"Tags": {"CostCenter": "unassigned"}}}}"#,
            ),
            ("DRY_RUN", "false"),
            ("EXEMPT_RESOURCE_IDS", "sg-1, bucket-a ,"),
            ("MAX_ATTEMPTS", "3"),
            ("RETRY_WINDOW_SECONDS", "120"),
        ]))
        .unwrap();
        assert_eq!(s.trail.prefix, "audit");
        assert_eq!(s.rules.len(), 3);
        assert_eq!(s.rules["restricted-ssh"].dry_run, Some(true));
        assert!(s.is_exempt_id("bucket-a", None));
        assert_eq!((s.max_attempts, s.retry_window_seconds), (3, 120));
        let d = RemediationSettings::from_env_with(&env(&[("TRAIL_BUCKET", "tb")])).unwrap();
        assert_eq!(
            (d.max_attempts, d.retry_window_seconds, d.dry_run),
            (5, 60, false)
        );
    }

    #[test]
    fn clear_errors() {
        let e = |pairs: &[(&str, &str)]| {
            RemediationSettings::from_env_with(&env(pairs))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(e(&[]), "TRAIL_BUCKET is required");
        assert!(e(&[("TRAIL_BUCKET", "b"), ("MAX_ATTEMPTS", "0")]).contains("from 1 to 25"));
        assert!(e(&[("TRAIL_BUCKET", "b"), ("RULE_RUNBOOKS", "[]")]).contains("JSON object"));
        let m = e(&[
            ("TRAIL_BUCKET", "b"),
            ("RULE_RUNBOOKS", r#"{"r": "AWS-Nope"}"#),
        ]);
        assert!(
            m.contains("unknown runbook \"AWS-Nope\"")
                && m.contains("AWS-EnableS3BucketEncryption"),
            "{m}"
        );
        let m = e(&[
            ("TRAIL_BUCKET", "b"),
            (
                "RULE_RUNBOOKS",
                r#"{"r": {"runbook": "AWS-EnableS3BucketEncryption", "parameters": {"Bogus": 1}}}"#,
            ),
        ]);
        assert!(m.contains("unknown parameter"), "{m}");
        assert!(e(&[("TRAIL_BUCKET", "b"), ("DRY_RUN", "maybe")]).contains("DRY_RUN"));
        assert!(e(&[("TRAIL_BUCKET", "b"), ("TRAIL_ARN", "x")]).contains("trail ARN"));
    }
}

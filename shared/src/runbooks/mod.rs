//! The runbook library: one file per runbook, registered in this module.
//!
//! A runbook reads the resource, plans the exact AWS calls that make it compliant (an empty
//! plan = nothing to do), and verifies by reading it back; [`crate::remediation::run_runbook`]
//! executes the plan and records every step. Runbooks only ever narrow access: a runbook that
//! would have to widen something refuses instead.
//!
//! Adding a runbook: write `runbooks/my_runbook.rs` with a unit struct implementing
//! [`Runbook`], and add one line `my_runbook::MyRunbook,` to the `registry!` list below.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::remediation::{ActError, Action, Cloud, Tags, Target, VerificationResult};

/// The type of a runbook parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ParamKind {
    String,
    Boolean,
    /// A JSON object of string values (tags), or a string holding one.
    StringMap,
    /// A JSON array of strings, or a comma-separated string.
    StringList,
}

/// One runbook parameter.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunbookParam {
    pub name: &'static str,
    pub kind: ParamKind,
    pub required: bool,
    /// Default as JSON text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<&'static str>,
    pub description: &'static str,
}

impl RunbookParam {
    pub const fn required(name: &'static str, kind: ParamKind, description: &'static str) -> Self {
        Self {
            name,
            kind,
            required: true,
            default: None,
            description,
        }
    }
    pub const fn optional(name: &'static str, kind: ParamKind, description: &'static str) -> Self {
        Self {
            name,
            kind,
            required: false,
            default: None,
            description,
        }
    }
    pub const fn with_default(
        name: &'static str,
        kind: ParamKind,
        default: &'static str,
        description: &'static str,
    ) -> Self {
        Self {
            name,
            kind,
            required: false,
            default: Some(default),
            description,
        }
    }
}

/// What a runbook is.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunbookInfo {
    /// The AWS document name where one exists (`AWS-...`, `AWSConfigRemediation-...`),
    /// `TrailWarden-...` for the suite's own.
    pub name: &'static str,
    pub description: &'static str,
    /// Config resource types it accepts.
    pub resource_types: &'static [&'static str],
    /// The parameter that receives the non-compliant resource's id (Config's `RESOURCE_ID`),
    /// for every resource type but `AWS::::Account`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_param: Option<&'static str>,
    pub parameters: &'static [RunbookParam],
    /// The API call that reads the resource (read and verify steps).
    pub read_api: &'static str,
    /// CloudTrail event names that cause the violation (for "who caused it"); empty = any
    /// mutating call naming the resource.
    pub cause_events: &'static [&'static str],
}

/// A parameter problem: unknown name, wrong type, missing value, bad combination.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("runbook {runbook} parameter {name}: {message}")]
pub struct ParamError {
    pub runbook: String,
    pub name: String,
    pub message: String,
}

impl ParamError {
    pub fn new(runbook: &str, name: &str, message: impl Into<String>) -> Self {
        Self {
            runbook: runbook.into(),
            name: name.into(),
            message: message.into(),
        }
    }
}

/// Validated parameters (defaults filled in).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunbookParams(BTreeMap<String, Value>);

impl RunbookParams {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }
    pub fn bool(&self, name: &str) -> bool {
        self.0.get(name).and_then(Value::as_bool).unwrap_or(false)
    }
    pub fn map(&self, name: &str) -> Tags {
        self.0
            .get(name)
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }
    pub fn list(&self, name: &str) -> Vec<String> {
        self.0
            .get(name)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
    pub fn to_json(&self) -> Value {
        Value::Object(self.0.clone().into_iter().collect())
    }
}

fn coerce(rb: &str, p: &RunbookParam, v: &Value) -> Result<Value, ParamError> {
    let bad = |m: &str| ParamError::new(rb, p.name, m.to_string());
    match p.kind {
        ParamKind::String => match v {
            Value::String(s) => Ok(Value::String(s.trim().to_string())),
            _ => Err(bad("expected a string")),
        },
        ParamKind::Boolean => match v {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(bad("expected true or false")),
        },
        ParamKind::StringMap => {
            let parsed;
            let obj = match v {
                Value::Object(m) => m,
                Value::String(s) => {
                    parsed = serde_json::from_str::<Value>(s)
                        .map_err(|e| bad(&format!("expected a JSON object of strings: {e}")))?;
                    parsed
                        .as_object()
                        .ok_or_else(|| bad("expected a JSON object of strings"))?
                }
                _ => return Err(bad("expected a JSON object of strings")),
            };
            let mut out = Map::new();
            for (k, v) in obj {
                let s = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return Err(bad(&format!("value of {k:?} must be a string"))),
                };
                out.insert(k.clone(), Value::String(s));
            }
            Ok(Value::Object(out))
        }
        ParamKind::StringList => match v {
            Value::Array(a) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(|s| Value::String(s.trim().to_string()))
                        .ok_or_else(|| bad("expected an array of strings"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Value::String(s) => Ok(Value::Array(
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_string()))
                    .collect(),
            )),
            _ => Err(bad(
                "expected an array of strings or a comma-separated string",
            )),
        },
    }
}

/// Validates raw parameters against a runbook's declaration: unknown names and wrong types are
/// errors, defaults are filled in, required parameters must be present.
pub fn parse_params(
    rb: &dyn Runbook,
    raw: &Map<String, Value>,
) -> Result<RunbookParams, ParamError> {
    let info = rb.info();
    let mut out = BTreeMap::new();
    for (k, v) in raw {
        let Some(spec) = info.parameters.iter().find(|p| p.name == k) else {
            let known: Vec<&str> = info.parameters.iter().map(|p| p.name).collect();
            return Err(ParamError::new(
                info.name,
                k,
                format!(
                    "unknown parameter (this runbook takes: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        };
        if v.is_null() {
            continue;
        }
        out.insert(k.clone(), coerce(info.name, spec, v)?);
    }
    for p in info.parameters {
        if out.contains_key(p.name) {
            continue;
        }
        if let Some(d) = p.default {
            let v: Value = serde_json::from_str(d).unwrap_or(Value::String(d.to_string()));
            out.insert(p.name.to_string(), coerce(info.name, p, &v)?);
        } else if p.required {
            return Err(ParamError::new(info.name, p.name, "is required"));
        }
    }
    let params = RunbookParams(out);
    rb.validate(&params)?;
    Ok(params)
}

/// Checks static parameters (a rule mapping's) without a target: known names, right types.
/// Required parameters may still come from the event.
pub fn check_static_params(rb: &dyn Runbook, raw: &Map<String, Value>) -> Result<(), ParamError> {
    let info = rb.info();
    for (k, v) in raw {
        let Some(spec) = info.parameters.iter().find(|p| p.name == k) else {
            let known: Vec<&str> = info.parameters.iter().map(|p| p.name).collect();
            return Err(ParamError::new(
                info.name,
                k,
                format!(
                    "unknown parameter (this runbook takes: {})",
                    known.join(", ")
                ),
            ));
        };
        if !v.is_null() {
            coerce(info.name, spec, v)?;
        }
    }
    Ok(())
}

/// Adds the target's id as the runbook's resource parameter (unless the target is the account)
/// and validates the result.
pub fn params_for_target(
    rb: &dyn Runbook,
    static_params: &Map<String, Value>,
    target: &Target,
) -> Result<RunbookParams, ParamError> {
    let mut raw = static_params.clone();
    if let Some(p) = rb.info().resource_param {
        if target.resource_type != "AWS::::Account" {
            raw.insert(p.to_string(), Value::String(target.resource_id.clone()));
        }
    }
    parse_params(rb, &raw)
}

/// What a runbook found and the calls it would make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The current state in a sentence (goes in the report).
    pub current: String,
    /// The calls, in order. Empty = the resource already complies.
    pub steps: Vec<Action>,
}

impl Plan {
    pub fn nothing(current: impl Into<String>) -> Self {
        Self {
            current: current.into(),
            steps: Vec::new(),
        }
    }
    pub fn steps(current: impl Into<String>, steps: Vec<Action>) -> Self {
        Self {
            current: current.into(),
            steps,
        }
    }
}

/// Why a runbook could not plan.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RunbookError {
    /// Reading the resource failed.
    #[error(transparent)]
    Act(#[from] ActError),
    /// The runbook will not act (wrong kind of resource, would widen access, ...).
    #[error("refused: {0}")]
    Refused(String),
}

/// A remediation runbook.
#[async_trait]
pub trait Runbook: Send + Sync {
    fn info(&self) -> &'static RunbookInfo;
    /// Checks that span several parameters (each value is already type-checked).
    fn validate(&self, _params: &RunbookParams) -> Result<(), ParamError> {
        Ok(())
    }
    /// Reads the resource and returns the calls that make it compliant.
    async fn plan(
        &self,
        cloud: &Cloud,
        target: &Target,
        params: &RunbookParams,
    ) -> Result<Plan, RunbookError>;
    /// Reads the resource back after the calls.
    async fn verify(
        &self,
        cloud: &Cloud,
        target: &Target,
        params: &RunbookParams,
    ) -> Result<VerificationResult, ActError>;
}

impl fmt::Debug for dyn Runbook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.info().name)
    }
}

/// A required string parameter (validated as present by [`parse_params`]).
pub(crate) fn req<'a>(
    info: &RunbookInfo,
    params: &'a RunbookParams,
    name: &str,
) -> Result<&'a str, RunbookError> {
    params
        .str(name)
        .ok_or_else(|| RunbookError::Refused(format!("{} needs the parameter {name}", info.name)))
}

pub(crate) fn passed(details: impl Into<String>) -> VerificationResult {
    VerificationResult {
        passed: true,
        details: details.into(),
    }
}

pub(crate) fn failed(details: impl Into<String>) -> VerificationResult {
    VerificationResult {
        passed: false,
        details: details.into(),
    }
}

macro_rules! registry {
    ($($module:ident :: $rb:ident),* $(,)?) => {
        $(pub mod $module;)*
        /// Every runbook, in listing order.
        static RUNBOOKS: &[&dyn Runbook] = &[$(&$module::$rb),*];
    };
}

registry! {
    s3_public_access_block::ConfigureS3BucketPublicAccessBlock,
    s3_encryption::EnableS3BucketEncryption,
    s3_versioning::ConfigureS3BucketVersioning,
    s3_ssl_only::RestrictBucketSslRequestsOnly,
    sg_public_ssh_rdp::DisablePublicAccessForSecurityGroup,
    sg_unrestricted_ingress::RemoveUnrestrictedSourceIngressRules,
    sg_default_closed::RemoveVpcDefaultSecurityGroupRules,
    trail_log_file_validation::EnableCloudTrailLogFileValidation,
    trail_start_logging::EnableCloudTrail,
    trail_restore::RestoreTrail,
    ebs_encryption_by_default::EnableEbsEncryptionByDefault,
    required_tags::SetRequiredTags,
}

/// Every registered runbook.
pub fn all() -> &'static [&'static dyn Runbook] {
    RUNBOOKS
}

/// The runbook of that name.
pub fn find(name: &str) -> Option<&'static dyn Runbook> {
    RUNBOOKS.iter().copied().find(|r| r.info().name == name)
}

/// The names of every runbook (for error messages).
pub fn names() -> Vec<&'static str> {
    RUNBOOKS.iter().map(|r| r.info().name).collect()
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the per-runbook tests.
    use std::sync::Arc;

    use super::*;
    use crate::remediation::{run_runbook, ExecutionRecord, FakeCloud};

    pub fn cloud(fake: &Arc<FakeCloud>) -> Cloud {
        Cloud::from_one(fake.clone())
    }

    pub fn target(ty: &str, id: &str) -> Target {
        let mut t = Target::new(ty, id);
        t.account_id = Some("123456789012".into());
        t.region = Some("us-east-1".into());
        t
    }

    pub fn params(rb: &dyn Runbook, target: &Target, raw: Value) -> RunbookParams {
        let raw = raw.as_object().cloned().unwrap_or_default();
        params_for_target(rb, &raw, target).expect("valid parameters")
    }

    /// Runs for real, then again (must find nothing to do), returning the first record.
    pub async fn run_twice(
        fake: &Arc<FakeCloud>,
        rb: &dyn Runbook,
        target: &Target,
        p: &RunbookParams,
    ) -> ExecutionRecord {
        let c = cloud(fake);
        let first = run_runbook(&c, rb, target, p, false).await;
        let again = run_runbook(&c, rb, target, p, false).await;
        assert_eq!(
            again.outcome,
            crate::remediation::Outcome::NothingToDo,
            "second run: {:#?}",
            again
        );
        assert!(again.changes.is_empty());
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn registry_is_consistent() {
        let names = names();
        assert_eq!(names.len(), 12);
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "duplicate runbook names");
        for rb in all() {
            let info = rb.info();
            assert!(!info.resource_types.is_empty(), "{}", info.name);
            assert!(info.read_api.contains(':'), "{}", info.name);
            if let Some(p) = info.resource_param {
                assert!(
                    info.parameters.iter().any(|x| x.name == p),
                    "{}: resource parameter {p} is not declared",
                    info.name
                );
            }
            for p in info.parameters {
                if let Some(d) = p.default {
                    let v: Value = serde_json::from_str(d).unwrap_or(Value::String(d.into()));
                    coerce(info.name, p, &v).unwrap_or_else(|e| panic!("{e}"));
                }
            }
        }
        assert!(find("AWS-EnableS3BucketEncryption").is_some());
        assert!(find("nope").is_none());
    }

    #[test]
    fn params_are_checked() {
        let rb = find("AWSConfigRemediation-ConfigureS3BucketPublicAccessBlock").unwrap();
        let t = Target::new("AWS::S3::Bucket", "b");
        let p = params_for_target(rb, &Map::new(), &t).unwrap();
        assert_eq!(p.str("BucketName"), Some("b"));
        assert!(p.bool("BlockPublicAcls"));
        let raw = json!({"BlockPublicAcls": "false"});
        let p = params_for_target(rb, raw.as_object().unwrap(), &t).unwrap();
        assert!(!p.bool("BlockPublicAcls"));
        let raw = json!({"Nope": 1});
        let e = params_for_target(rb, raw.as_object().unwrap(), &t).unwrap_err();
        assert!(e.to_string().contains("unknown parameter"), "{e}");
        let raw = json!({"BlockPublicAcls": 3});
        let e = params_for_target(rb, raw.as_object().unwrap(), &t).unwrap_err();
        assert!(e.to_string().contains("true or false"), "{e}");
        // Required parameter missing (no binding for the account).
        let rb = find("AWS-EnableS3BucketEncryption").unwrap();
        let e =
            params_for_target(rb, &Map::new(), &Target::new("AWS::::Account", "1")).unwrap_err();
        assert!(e.to_string().contains("BucketName: is required"), "{e}");
        // StringMap from a JSON string, StringList from CSV.
        let rb = find("TrailWarden-SetRequiredTags").unwrap();
        let raw = json!({"Tags": "{\"Owner\":\"sec\",\"CostCenter\":42}"});
        let p = params_for_target(
            rb,
            raw.as_object().unwrap(),
            &Target::new("AWS::S3::Bucket", "b"),
        )
        .unwrap();
        assert_eq!(
            p.map("Tags").get("CostCenter").map(String::as_str),
            Some("42")
        );
    }
}

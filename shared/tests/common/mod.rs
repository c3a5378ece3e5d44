//! Helpers shared by the Config rule integration tests.
//!
//! Real payloads are read from the project's reference data (`shared/data` beside the
//! repository, or `TRAILWARDEN_DATA_DIR`); tests mutate copies to reach other outcomes.
#![allow(dead_code)]

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use trailwarden::config::{evaluate_document, ComplianceType, Evaluation};

/// The reference data directory.
pub fn data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TRAILWARDEN_DATA_DIR") {
        return PathBuf::from(d);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data")
}

/// A data file's text.
pub fn read(rel: &str) -> String {
    let p = data_dir().join(rel);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("reference data {} not readable: {e}", p.display()))
}

/// A data file as JSON.
pub fn json(rel: &str) -> Value {
    serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `config/items/<name>` as JSON.
pub fn item(name: &str) -> Value {
    json(&format!("config/items/{name}"))
}

/// `events/config-rule-invocations/<name>` as JSON.
pub fn event(name: &str) -> Value {
    json(&format!("events/config-rule-invocations/{name}"))
}

pub const S3_REAL: &str = "S3Bucket-ci-real-2021-notification-format.json";
pub const S3_RDK: &str = "rdk-example_ci-AWS_S3_Bucket.json";
pub const SG_RULES_TEST: &str = "SecurityGroup-ci-from-aws-config-rules-test.json";
pub const SG_RDK: &str = "rdk-example_ci-AWS_EC2_SecurityGroup.json";
pub const SG_API_DOCS: &str = "api-GetResourceConfigHistory-SecurityGroup-aws-docs.json";
pub const INSTANCE_RDK: &str = "rdk-example_ci-AWS_EC2_Instance.json";
pub const VOLUME_RDK: &str = "rdk-example_ci-AWS_EC2_Volume.json";
pub const RDS_RDK: &str = "rdk-example_ci-AWS_RDS_DBInstance.json";
pub const TRAIL_RDK: &str = "rdk-example_ci-AWS_Cloudtrail_Trail.json";
pub const IAM_USER_RDK: &str = "rdk-example_ci-AWS_IAM_User.json";

/// Converts an item in notification form to the API form: `accountId`, `arn`, `version`,
/// `configurationItemMD5Hash`, `relationshipName`, `configuration` and every supplementary value
/// as JSON strings (the S3 ACL, already a JSON string, becomes a JSON string of it).
pub fn to_api_form(v: &Value) -> Value {
    let mut out = Map::new();
    for (k, x) in v.as_object().expect("item object") {
        let (key, val) = match k.as_str() {
            "awsAccountId" => ("accountId".to_string(), x.clone()),
            "ARN" => ("arn".to_string(), x.clone()),
            "configurationItemVersion" => ("version".to_string(), x.clone()),
            "configurationStateMd5Hash" => ("configurationItemMD5Hash".to_string(), x.clone()),
            "configuration" => (k.clone(), Value::String(x.to_string())),
            "supplementaryConfiguration" => (
                k.clone(),
                Value::Object(
                    x.as_object()
                        .expect("supplementary object")
                        .iter()
                        .map(|(sk, sv)| (sk.clone(), Value::String(sv.to_string())))
                        .collect(),
                ),
            ),
            "relationships" => (
                k.clone(),
                Value::Array(
                    x.as_array()
                        .expect("relationships")
                        .iter()
                        .map(|r| {
                            let mut r = r.as_object().expect("relationship").clone();
                            if let Some(n) = r.remove("name") {
                                r.insert("relationshipName".into(), n);
                            }
                            Value::Object(r)
                        })
                        .collect(),
                ),
            ),
            _ => (k.clone(), x.clone()),
        };
        out.insert(key, val);
    }
    Value::Object(out)
}

/// Evaluates one document with `rule` and optional parameters; expects one evaluation.
pub fn eval(rule: &str, params: Option<&str>, doc: &Value) -> Evaluation {
    let mut evs = evaluate_document(Some(rule), params, &doc.to_string())
        .unwrap_or_else(|e| panic!("{rule}: {e}"));
    assert_eq!(evs.len(), 1, "{rule}: expected one evaluation, got {evs:?}");
    evs.remove(0)
}

/// Asserts compliance and that the annotation contains `needle` (`None`: no annotation).
pub fn assert_eval(e: &Evaluation, expected: ComplianceType, needle: Option<&str>) {
    assert_eq!(e.compliance_type, expected, "{e:?}");
    match needle {
        None => assert_eq!(e.annotation, None, "{e:?}"),
        Some(n) => {
            let a = e.annotation.as_deref().unwrap_or_default();
            assert!(a.contains(n), "annotation {a:?} lacks {n:?}");
        }
    }
}

/// An RFC 3339 time.
pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("time")
        .with_timezone(&Utc)
}

/// `ruleParameters` of an event replaced by `params` (a JSON object).
pub fn with_rule_parameters(mut ev: Value, params: Value) -> Value {
    ev["ruleParameters"] = Value::String(params.to_string());
    ev
}

/// The decoded invoking event of an event.
pub fn invoking(ev: &Value) -> Value {
    serde_json::from_str(ev["invokingEvent"].as_str().expect("invokingEvent string"))
        .expect("invokingEvent JSON")
}

/// `ev` with its invoking event replaced by `inv` (re-encoded as a JSON string).
pub fn with_invoking(mut ev: Value, inv: &Value) -> Value {
    ev["invokingEvent"] = Value::String(inv.to_string());
    ev
}

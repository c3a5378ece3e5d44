//! Evaluations as `PutEvaluations` takes them.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use serde_json::{json, Value};

/// The longest annotation `PutEvaluations` accepts (characters).
pub const MAX_ANNOTATION_CHARS: usize = 256;
/// What a too-long annotation is cut to before the marker (as RDK does).
const TRUNCATED_KEEP: usize = 244;
const TRUNCATED_MARK: &str = " [truncated]";

/// A compliance result. `INSUFFICIENT_DATA` is deliberately absent: `PutEvaluations` rejects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ComplianceType {
    /// `COMPLIANT`.
    Compliant,
    /// `NON_COMPLIANT`.
    NonCompliant,
    /// `NOT_APPLICABLE`.
    NotApplicable,
}

impl ComplianceType {
    /// The value as Config writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compliant => "COMPLIANT",
            Self::NonCompliant => "NON_COMPLIANT",
            Self::NotApplicable => "NOT_APPLICABLE",
        }
    }

    /// Parses Config's text; `INSUFFICIENT_DATA` and anything else give `None`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "COMPLIANT" => Some(Self::Compliant),
            "NON_COMPLIANT" => Some(Self::NonCompliant),
            "NOT_APPLICABLE" => Some(Self::NotApplicable),
            _ => None,
        }
    }
}

impl fmt::Display for ComplianceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ComplianceType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What a rule decides about one resource: compliance and a note for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The compliance result.
    pub compliance: ComplianceType,
    /// What to fix (or why the resource is not applicable).
    pub annotation: Option<String>,
}

impl Outcome {
    /// `COMPLIANT`, no annotation.
    pub fn compliant() -> Self {
        Self {
            compliance: ComplianceType::Compliant,
            annotation: None,
        }
    }

    /// `COMPLIANT` with a note.
    pub fn compliant_because(why: impl Into<String>) -> Self {
        Self {
            compliance: ComplianceType::Compliant,
            annotation: Some(why.into()),
        }
    }

    /// `NON_COMPLIANT` with what to fix.
    pub fn non_compliant(why: impl Into<String>) -> Self {
        Self {
            compliance: ComplianceType::NonCompliant,
            annotation: Some(why.into()),
        }
    }

    /// `NOT_APPLICABLE` with why.
    pub fn not_applicable(why: impl Into<String>) -> Self {
        Self {
            compliance: ComplianceType::NotApplicable,
            annotation: Some(why.into()),
        }
    }

    /// `NON_COMPLIANT` listing `problems` (joined by `"; "`), or `COMPLIANT` when there are none.
    pub fn from_problems(problems: Vec<String>) -> Self {
        if problems.is_empty() {
            Self::compliant()
        } else {
            Self::non_compliant(problems.join("; "))
        }
    }
}

/// A rule's outcome for a named resource (account rules report several resources).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceOutcome {
    /// e.g. `AWS::::Account`, `AWS::IAM::User`.
    pub resource_type: String,
    /// The resource id (account id, IAM user id, ...).
    pub resource_id: String,
    /// The decision.
    pub outcome: Outcome,
}

/// One evaluation for `PutEvaluations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Evaluation {
    /// `ComplianceType`.
    pub compliance_type: ComplianceType,
    /// `Annotation`: 1-256 characters, `None` when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotation: Option<String>,
    /// `ComplianceResourceType`.
    #[serde(rename = "ComplianceResourceType")]
    pub resource_type: String,
    /// `ComplianceResourceId`.
    #[serde(rename = "ComplianceResourceId")]
    pub resource_id: String,
    /// `OrderingTimestamp`: the item's capture time (change-triggered) or the notification's
    /// creation time (periodic).
    #[serde(serialize_with = "ser_time")]
    pub ordering_timestamp: DateTime<Utc>,
}

fn ser_time<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

impl Evaluation {
    /// An evaluation; the annotation is normalised with [`normalize_annotation`].
    pub fn new(
        compliance_type: ComplianceType,
        annotation: Option<String>,
        resource_type: impl Into<String>,
        resource_id: impl Into<String>,
        ordering_timestamp: DateTime<Utc>,
    ) -> Self {
        Self {
            compliance_type,
            annotation: normalize_annotation(annotation),
            resource_type: resource_type.into(),
            resource_id: resource_id.into(),
            ordering_timestamp,
        }
    }

    /// An evaluation from a rule's outcome.
    pub fn from_outcome(
        outcome: Outcome,
        resource_type: impl Into<String>,
        resource_id: impl Into<String>,
        ordering_timestamp: DateTime<Utc>,
    ) -> Self {
        Self::new(
            outcome.compliance,
            outcome.annotation,
            resource_type,
            resource_id,
            ordering_timestamp,
        )
    }

    /// The CLI's rendering: `{"complianceType","annotation","resourceType","resourceId"}`
    /// (`annotation` omitted when there is none).
    pub fn to_cli_json(&self) -> Value {
        let mut v = json!({
            "complianceType": self.compliance_type.as_str(),
            "resourceType": self.resource_type,
            "resourceId": self.resource_id,
        });
        if let (Some(a), Some(obj)) = (&self.annotation, v.as_object_mut()) {
            obj.insert("annotation".to_string(), Value::String(a.clone()));
        }
        v
    }
}

/// Empty (or blank) annotations become `None`; annotations longer than 256 characters are cut
/// to 244 characters plus `" [truncated]"` (256 in all), as RDK does.
pub fn normalize_annotation(annotation: Option<String>) -> Option<String> {
    let a = annotation?;
    if a.trim().is_empty() {
        return None;
    }
    if a.chars().count() <= MAX_ANNOTATION_CHARS {
        return Some(a);
    }
    let mut cut: String = a.chars().take(TRUNCATED_KEEP).collect();
    cut.push_str(TRUNCATED_MARK);
    Some(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation() {
        assert_eq!(normalize_annotation(Some(String::new())), None);
        assert_eq!(normalize_annotation(Some("  ".into())), None);
        let exact = "a".repeat(256);
        assert_eq!(normalize_annotation(Some(exact.clone())), Some(exact));
        let long = "é".repeat(300);
        let t = normalize_annotation(Some(long)).unwrap();
        assert_eq!(t.chars().count(), 256);
        assert!(t.ends_with(" [truncated]"));
        assert!(t.starts_with(&"é".repeat(244)));
    }

    #[test]
    fn json_forms() {
        let t = DateTime::parse_from_rfc3339("2016-07-13T21:50:00.373Z")
            .unwrap()
            .with_timezone(&Utc);
        let e = Evaluation::new(
            ComplianceType::NonCompliant,
            Some("x".into()),
            "AWS::S3::Bucket",
            "b",
            t,
        );
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"ComplianceType": "NON_COMPLIANT", "Annotation": "x",
                   "ComplianceResourceType": "AWS::S3::Bucket", "ComplianceResourceId": "b",
                   "OrderingTimestamp": "2016-07-13T21:50:00.373Z"})
        );
        assert_eq!(
            e.to_cli_json(),
            json!({"complianceType": "NON_COMPLIANT", "annotation": "x",
                   "resourceType": "AWS::S3::Bucket", "resourceId": "b"})
        );
        let e = Evaluation::new(ComplianceType::Compliant, None, "T", "i", t);
        assert!(e.to_cli_json().get("annotation").is_none());
        assert_eq!(ComplianceType::parse("INSUFFICIENT_DATA"), None);
        assert_eq!(
            ComplianceType::parse("NOT_APPLICABLE"),
            Some(ComplianceType::NotApplicable)
        );
    }
}

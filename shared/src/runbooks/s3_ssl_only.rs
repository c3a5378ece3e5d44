//! `AWSConfigRemediation-RestrictBucketSSLRequestsOnly`: adds a `Deny` for requests made
//! without TLS (`aws:SecureTransport = false`) on the bucket and its objects to the bucket
//! policy, keeping every existing statement. A policy that cannot be parsed is not touched
//! (the runbook refuses rather than overwrite it).

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{
    failed, passed, req, ParamKind, Plan, Runbook, RunbookError, RunbookInfo, RunbookParam,
    RunbookParams,
};
use crate::config::policy::{Effect, PolicyDocument, Principal, Statement};
use crate::remediation::{ActError, Action, Cloud, Target, VerificationResult};

pub struct RestrictBucketSslRequestsOnly;

static INFO: RunbookInfo = RunbookInfo {
    name: "AWSConfigRemediation-RestrictBucketSSLRequestsOnly",
    description: "Adds a Deny of non-TLS requests (aws:SecureTransport=false) to the bucket policy, keeping the existing statements.",
    resource_types: &["AWS::S3::Bucket"],
    resource_param: Some("BucketName"),
    parameters: &[RunbookParam::required("BucketName", ParamKind::String, "The bucket.")],
    read_api: "s3:GetBucketPolicy",
    cause_events: &["CreateBucket", "PutBucketPolicy", "DeleteBucketPolicy"],
};

/// The Sid of the statement the runbook adds (as the AWS runbook names it).
pub const SID: &str = "AllowSSLRequestsOnly";

fn denies_insecure_transport(s: &Statement) -> bool {
    s.effect == Effect::Deny
        && s.principal.as_ref().is_some_and(Principal::is_everyone)
        && s.condition_values(&["Bool", "BoolIfExists"], "aws:SecureTransport")
            .iter()
            .any(|v| v.eq_ignore_ascii_case("false"))
        && s.covers_all_s3_actions()
}

/// Whether the policy denies non-TLS requests on the bucket and on its objects.
pub fn requires_tls(doc: &PolicyDocument, bucket_arn: &str) -> bool {
    let objects = format!("{bucket_arn}/*");
    let denies: Vec<&Statement> = doc
        .statements
        .iter()
        .filter(|s| denies_insecure_transport(s))
        .collect();
    denies.iter().any(|s| s.covers_resource(bucket_arn))
        && denies.iter().any(|s| s.covers_resource(&objects))
}

/// The pure plan: the new policy text, or nothing.
pub fn plan_for(
    bucket: &str,
    partition: &str,
    current: Option<&str>,
) -> Result<Plan, RunbookError> {
    let arn = format!("arn:{partition}:s3:::{bucket}");
    let mut policy: Value = match current {
        None => json!({"Version": "2012-10-17", "Statement": []}),
        Some(text) => {
            let doc = PolicyDocument::parse(text).map_err(|e| {
                RunbookError::Refused(format!(
                    "{e}; fix the policy by hand, the runbook does not overwrite it"
                ))
            })?;
            if requires_tls(&doc, &arn) {
                return Ok(Plan::nothing(format!(
                    "the bucket policy ({} statements) already denies requests without TLS",
                    doc.statements.len()
                )));
            }
            serde_json::from_str(text)
                .map_err(|e| RunbookError::Refused(format!("bucket policy is not JSON: {e}")))?
        }
    };
    let existing: Vec<Value> = match policy.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(o @ Value::Object(_)) => vec![o.clone()],
        _ => Vec::new(),
    };
    let sids: Vec<&str> = existing
        .iter()
        .filter_map(|s| s.get("Sid").and_then(Value::as_str))
        .collect();
    let mut sid = SID.to_string();
    let mut n = 2;
    while sids.contains(&sid.as_str()) {
        sid = format!("{SID}{n}");
        n += 1;
    }
    let deny = json!({
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, format!("{arn}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}
    });
    let count = existing.len();
    let mut statements = existing;
    statements.push(deny);
    policy["Statement"] = Value::Array(statements);
    let desc = match current {
        None => "no bucket policy".to_string(),
        Some(_) => {
            format!("bucket policy with {count} statement(s), none denying requests without TLS")
        }
    };
    Ok(Plan::steps(
        desc,
        vec![Action::S3PutBucketPolicy {
            bucket: bucket.into(),
            policy: policy.to_string(),
        }],
    ))
}

#[async_trait]
impl Runbook for RestrictBucketSslRequestsOnly {
    fn info(&self) -> &'static RunbookInfo {
        &INFO
    }
    async fn plan(
        &self,
        cloud: &Cloud,
        t: &Target,
        p: &RunbookParams,
    ) -> Result<Plan, RunbookError> {
        let bucket = req(&INFO, p, "BucketName")?;
        let current = cloud.s3.get_bucket_policy(bucket).await?;
        plan_for(bucket, t.partition(), current.as_deref())
    }
    async fn verify(
        &self,
        cloud: &Cloud,
        t: &Target,
        p: &RunbookParams,
    ) -> Result<VerificationResult, ActError> {
        let bucket = p.str("BucketName").unwrap_or_default();
        let arn = format!("arn:{}:s3:::{bucket}", t.partition());
        Ok(match cloud.s3.get_bucket_policy(bucket).await? {
            None => failed("GetBucketPolicy: the bucket has no policy"),
            Some(text) => match PolicyDocument::parse(&text) {
                Ok(doc) if requires_tls(&doc, &arn) => passed(format!(
                    "GetBucketPolicy: {} statement(s), including a Deny of aws:SecureTransport=false on {arn} and {arn}/*",
                    doc.statements.len()
                )),
                Ok(_) => failed("GetBucketPolicy: no Deny of aws:SecureTransport=false covering the bucket and its objects"),
                Err(e) => failed(format!("GetBucketPolicy: {e}")),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::remediation::{run_runbook, FakeBucket, FakeCloud, Outcome};
    use crate::runbooks::testing::*;

    const READ: &str = r#"{"Version":"2012-10-17","Statement":{"Sid":"AllowSSLRequestsOnly","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#;

    #[test]
    fn keeps_existing_statements() {
        let plan = plan_for("b", "aws", Some(READ)).unwrap();
        let Action::S3PutBucketPolicy { policy, .. } = &plan.steps[0] else {
            panic!()
        };
        let v: Value = serde_json::from_str(policy).unwrap();
        let st = v["Statement"].as_array().unwrap();
        assert_eq!(st.len(), 2);
        assert_eq!(st[0]["Action"], "s3:GetObject", "existing statement kept");
        assert_eq!(st[1]["Sid"], "AllowSSLRequestsOnly2", "Sid made unique");
        assert!(requires_tls(
            &PolicyDocument::parse(policy).unwrap(),
            "arn:aws:s3:::b"
        ));
        // Already there: nothing to do.
        assert!(plan_for("b", "aws", Some(policy)).unwrap().steps.is_empty());
        // China partition.
        let plan = plan_for("b", "aws-cn", None).unwrap();
        assert!(plan.steps[0].render().contains("arn:aws-cn:s3:::b/*"));
    }

    #[test]
    fn refuses_unreadable_policy() {
        assert!(matches!(
            plan_for("b", "aws", Some("{not json")),
            Err(RunbookError::Refused(_))
        ));
    }

    #[tokio::test]
    async fn adds_the_deny() {
        let fake = Arc::new(FakeCloud::new());
        fake.add_bucket(
            "b",
            FakeBucket {
                policy: Some(READ.into()),
                ..Default::default()
            },
        );
        let rb = &RestrictBucketSslRequestsOnly;
        let t = target("AWS::S3::Bucket", "b");
        let rec = run_twice(&fake, rb, &t, &params(rb, &t, json!({}))).await;
        assert_eq!(rec.outcome, Outcome::Remediated, "{rec:#?}");
        assert!(fake
            .bucket("b")
            .unwrap()
            .policy
            .unwrap()
            .contains("s3:GetObject"));
        // A deny on fewer actions is not enough.
        let partial = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":["arn:aws:s3:::c","arn:aws:s3:::c/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;
        fake.add_bucket(
            "c",
            FakeBucket {
                policy: Some(partial.into()),
                ..Default::default()
            },
        );
        let t = target("AWS::S3::Bucket", "c");
        let rec = run_runbook(&cloud(&fake), rb, &t, &params(rb, &t, json!({})), false).await;
        assert_eq!(rec.outcome, Outcome::Remediated);
    }
}

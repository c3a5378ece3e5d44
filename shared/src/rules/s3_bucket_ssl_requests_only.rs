//! `s3-bucket-ssl-requests-only` (`S3_BUCKET_SSL_REQUESTS_ONLY`).
//!
//! COMPLIANT only if the bucket policy explicitly denies requests over plain HTTP: `Deny`
//! statements for `Principal: "*"` (or `{"AWS": "*"}`), on `s3:*` (or `*`), with
//! `Bool`/`BoolIfExists` `aws:SecureTransport` = `false`, whose resources together cover the
//! bucket (`arn:aws:s3:::name`) **and** its objects (`arn:aws:s3:::name/*`). An `Allow`
//! conditioned on `aws:SecureTransport = true` is not enough (another statement may allow HTTP).
//! Choices: a deny on fewer actions than `s3:*` does not count; no policy or an unreadable one
//! is NON_COMPLIANT.

use crate::config::policy::{Effect, Principal, Statement};
use crate::config::{ConfigurationItem, Outcome, Params};

use super::s3_common::{bucket_arn, bucket_policy, BucketPolicy};
use super::{Rule, Trigger};

/// The rule.
pub struct S3BucketSslRequestsOnly;

fn denies_insecure_transport(s: &Statement) -> bool {
    s.effect == Effect::Deny
        && s.principal.as_ref().is_some_and(Principal::is_everyone)
        && s
            .condition_values(&["Bool", "BoolIfExists"], "aws:SecureTransport")
            .iter()
            .any(|v| v.eq_ignore_ascii_case("false"))
}

const FIX: &str = "add a Deny statement for Principal * on s3:* with Condition Bool aws:SecureTransport=false covering the bucket and bucket/*";

impl Rule for S3BucketSslRequestsOnly {
    fn name(&self) -> &'static str {
        "s3-bucket-ssl-requests-only"
    }
    fn identifier(&self) -> &'static str {
        "S3_BUCKET_SSL_REQUESTS_ONLY"
    }
    fn description(&self) -> &'static str {
        "The bucket policy denies every request made without TLS (aws:SecureTransport = false)."
    }
    fn resource_types(&self) -> &'static [&'static str] {
        &["AWS::S3::Bucket"]
    }
    fn trigger(&self) -> Trigger {
        Trigger::ConfigurationChange
    }
    fn evaluate(&self, item: &ConfigurationItem, _params: &Params) -> Outcome {
        let doc = match bucket_policy(item) {
            BucketPolicy::None => {
                return Outcome::non_compliant(format!("the bucket has no bucket policy: {FIX}"))
            }
            BucketPolicy::Unreadable(why) => return Outcome::non_compliant(why),
            BucketPolicy::Document(d) => d,
        };
        let arn = bucket_arn(item);
        let objects = format!("{arn}/*");
        let denies: Vec<&Statement> = doc
            .statements
            .iter()
            .filter(|s| denies_insecure_transport(s))
            .collect();
        if denies.is_empty() {
            return Outcome::non_compliant(format!(
                "the bucket policy does not deny requests with aws:SecureTransport=false: {FIX}"
            ));
        }
        let full: Vec<&&Statement> = denies.iter().filter(|s| s.covers_all_s3_actions()).collect();
        if full.is_empty() {
            return Outcome::non_compliant(format!(
                "the bucket policy denies insecure transport only for {}: deny s3:* instead",
                denies
                    .iter()
                    .flat_map(|s| s.actions.iter().chain(s.not_actions.iter()))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let bucket_ok = full.iter().any(|s| s.covers_resource(&arn));
        let objects_ok = full.iter().any(|s| s.covers_resource(&objects));
        match (bucket_ok, objects_ok) {
            (true, true) => Outcome::compliant(),
            (b, o) => {
                let missing: Vec<&str> = [(b, arn.as_str()), (o, objects.as_str())]
                    .into_iter()
                    .filter(|(ok, _)| !ok)
                    .map(|(_, r)| r)
                    .collect();
                Outcome::non_compliant(format!(
                    "the Deny on aws:SecureTransport=false does not cover {}: add it to the statement's Resource",
                    missing.join(" and ")
                ))
            }
        }
    }
}

//! Trail matching shared by `cloudtrail-enabled` and `multi-region-cloudtrail-enabled`.

use crate::config::{ParamKind, ParamSpec, Params, TrailDescription};

pub(crate) const DESTINATION_PARAMS: [ParamSpec; 3] = [
    ParamSpec::optional(
        "s3BucketName",
        ParamKind::String,
        "Name of the S3 bucket the trail must deliver log files to.",
    ),
    ParamSpec::optional(
        "snsTopicArn",
        ParamKind::String,
        "ARN of the SNS topic the trail must notify.",
    ),
    ParamSpec::optional(
        "cloudWatchLogsLogGroupArn",
        ParamKind::String,
        "ARN of the CloudWatch Logs log group the trail must send to.",
    ),
];

fn log_group(arn: &str) -> &str {
    arn.strip_suffix(":*").unwrap_or(arn)
}

/// How `trail` differs from the destinations required by `params` (empty = matches).
pub(crate) fn destination_mismatches(trail: &TrailDescription, params: &Params) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(b) = params.str("s3BucketName") {
        if trail.s3_bucket_name.as_deref() != Some(b) {
            out.push(format!(
                "delivers to bucket {} instead of {b}",
                trail.s3_bucket_name.as_deref().unwrap_or("(none)")
            ));
        }
    }
    if let Some(t) = params.str("snsTopicArn") {
        if trail.sns_topic_arn.as_deref() != Some(t) {
            out.push(format!(
                "notifies SNS topic {} instead of {t}",
                trail.sns_topic_arn.as_deref().unwrap_or("(none)")
            ));
        }
    }
    if let Some(g) = params.str("cloudWatchLogsLogGroupArn") {
        if trail
            .cloud_watch_logs_log_group_arn
            .as_deref()
            .map(log_group)
            != Some(log_group(g))
        {
            out.push(format!(
                "sends to log group {} instead of {g}",
                trail
                    .cloud_watch_logs_log_group_arn
                    .as_deref()
                    .unwrap_or("(none)")
            ));
        }
    }
    out
}

/// Summarises why no trail qualified: one clause per trail, capped.
pub(crate) fn summarize(reasons: &[(String, Vec<String>)]) -> String {
    reasons
        .iter()
        .map(|(name, why)| format!("trail {name}: {}", why.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

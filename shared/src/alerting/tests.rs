use super::message::*;
use super::*;
use crate::alarm::{AlarmState, Transition};
use chrono::TimeZone;
use serde_json::json;

fn cis_def(name: &str) -> AlarmDefinition {
    let engine = Engine::new(Some("CISBenchmark"), &[], "test").unwrap();
    engine
        .alarms()
        .iter()
        .find(|a| a.name == name)
        .unwrap()
        .clone()
}

fn transition(name: &str, old: AlarmState, new: AlarmState) -> Transition {
    Transition {
        alarm: name.into(),
        old_state: old,
        new_state: new,
        reason: "Threshold Crossed: 1 out of the last 1 datapoints [2.0 (10/07/23 12:00:00)] was greater than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).".into(),
        evaluated_at_ms: Utc.with_ymd_and_hms(2023, 7, 10, 12, 5, 0).unwrap().timestamp_millis(),
    }
}

fn ctx() -> AlarmContext {
    AlarmContext::from_topic_arn(
        Some("arn:aws:sns:us-east-1:123456789012:trailwarden-alerts"),
        "us-east-1",
    )
}

fn stop_logging() -> Value {
    json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": "arn:aws:iam::123456789012:user/mallory",
            "accountId": "123456789012",
            "accessKeyId": "AKIAEXAMPLE",
            "userName": "mallory"
        },
        "eventTime": "2023-07-10T12:03:41Z",
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": "StopLogging",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.13.0",
        "requestParameters": {"name": "arn:aws:cloudtrail:us-east-1:123456789012:trail/main"},
        "responseElements": null,
        "requestID": "r-1",
        "eventID": "e-1",
        "readOnly": false,
        "eventType": "AwsApiCall",
        "recipientAccountId": "123456789012"
    })
}

#[test]
fn alarm_message_has_cloudwatchs_shape_plus_the_records() {
    let def = cis_def("CloudTrailChanges");
    let t = transition("CloudTrailChanges", AlarmState::Ok, AlarmState::Alarm);
    let now = Utc.with_ymd_and_hms(2023, 7, 10, 12, 20, 1).unwrap();
    let rec = summarize_record(&stop_logging());
    let body = alarm_message(
        &def,
        &t,
        &ctx(),
        now,
        std::slice::from_ref(&rec),
        1,
        &["s3://trail/AWSLogs/x.json.gz#etag".into()],
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["AlarmName"], "CloudTrailChanges");
    assert!(v["AlarmDescription"]
        .as_str()
        .unwrap()
        .contains("CloudWatch.5"));
    assert_eq!(v["AWSAccountId"], "123456789012");
    assert_eq!(v["NewStateValue"], "ALARM");
    assert_eq!(v["OldStateValue"], "OK");
    assert_eq!(v["NewStateReason"], json!(t.reason));
    assert_eq!(v["StateChangeTime"], "2023-07-10T12:20:01.000+0000");
    assert_eq!(v["Region"], "US East (N. Virginia)");
    assert_eq!(
        v["AlarmArn"],
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:CloudTrailChanges"
    );
    let tr = &v["Trigger"];
    assert_eq!(tr["MetricName"], "CloudTrailChanges");
    assert_eq!(tr["Namespace"], "CISBenchmark");
    assert_eq!(tr["Statistic"], "SUM");
    assert_eq!(tr["StatisticType"], "Statistic");
    assert_eq!(tr["Period"], 300);
    assert_eq!(tr["EvaluationPeriods"], 1);
    assert_eq!(tr["DatapointsToAlarm"], 1);
    assert_eq!(tr["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
    assert_eq!(tr["Threshold"], 1.0);
    assert_eq!(tr["TreatMissingData"], "notBreaching");
    assert_eq!(tr["Dimensions"], json!([]));
    // What CloudWatch cannot say: who, what, where, when.
    assert_eq!(v["MatchingRecordsTotal"], 1);
    assert_eq!(v["MatchingRecordsOmitted"], 0);
    let r = &v["MatchingRecords"][0];
    assert_eq!(
        r["userIdentity"]["arn"],
        "arn:aws:iam::123456789012:user/mallory"
    );
    assert_eq!(r["userIdentity"]["type"], "IAMUser");
    assert_eq!(r["eventSource"], "cloudtrail.amazonaws.com");
    assert_eq!(r["eventName"], "StopLogging");
    assert_eq!(
        r["requestParameters"]["name"],
        "arn:aws:cloudtrail:us-east-1:123456789012:trail/main"
    );
    assert_eq!(r["sourceIPAddress"], "203.0.113.7");
    assert_eq!(r["awsRegion"], "us-east-1");
    assert_eq!(r["userAgent"], "aws-cli/2.13.0");
    assert_eq!(r["eventTime"], "2023-07-10T12:03:41Z");
    assert_eq!(
        subject(AlarmState::Alarm, "CloudTrailChanges", "us-east-1"),
        "ALARM: \"CloudTrailChanges\" in US East (N. Virginia)"
    );
    assert_eq!(
        subject(AlarmState::Ok, "X", "eu-west-1"),
        "OK: \"X\" in EU (Ireland)"
    );
}

#[test]
fn alarm_message_stays_under_the_sns_limit_and_says_what_was_left_out() {
    let def = cis_def("UnauthorizedAPICalls");
    let t = transition("UnauthorizedAPICalls", AlarmState::Ok, AlarmState::Alarm);
    let mut r = stop_logging();
    r["userAgent"] = json!("x".repeat(400));
    r["requestParameters"] = json!({"policy": "p".repeat(400)});
    let one = summarize_record(&r);
    let records = vec![one; 3000];
    let body = alarm_message(&def, &t, &ctx(), Utc::now(), &records, 3500, &[]);
    assert!(
        body.len() <= crate::notify::MAX_MESSAGE_BYTES,
        "{}",
        body.len()
    );
    assert!(
        body.len() > crate::notify::MAX_MESSAGE_BYTES - 10_000,
        "fills the message"
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    let kept = v["MatchingRecords"].as_array().unwrap().len();
    assert!(kept > 100 && kept < 3000, "{kept}");
    assert_eq!(v["MatchingRecordsOmitted"], json!(3500 - kept));
    assert_eq!(v["MatchingRecordsTotal"], 3500);
}

#[test]
fn secrets_never_reach_the_message() {
    let mut r = stop_logging();
    r["eventName"] = json!("CreateLoginProfile");
    r["requestParameters"] = json!({
        "userName": "bob",
        "password": "hunter2-password",
        "passwordResetRequired": true,
        "secretString": "s3cr3t-value",
        "secretId": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db",
        "SecretARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db2",
        "nested": {
            "sessionToken": "FwoGZXIvYXdzEXAMPLETOKEN",
            "list": [{"privateKey": "-----BEGIN RSA PRIVATE KEY-----MIIE"}],
            "master_user_password": "pw-123456",
            "Authorization": "Bearer abc.def"
        },
        "clientSecret": "cs-value",
        "apiKey": "ak-value",
        "userData": "IyEvYmluL2Jhc2gKZXhwb3J0IFBBU1M9eA=="
    });
    let s = summarize_record(&r);
    let text = serde_json::to_string(&s).unwrap();
    for secret in [
        "hunter2-password",
        "s3cr3t-value",
        "FwoGZXIvYXdzEXAMPLETOKEN",
        "BEGIN RSA",
        "pw-123456",
        "Bearer",
        "cs-value",
        "ak-value",
        "IyEvYmluL2Jhc2g",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let p = &s["requestParameters"];
    assert_eq!(p["userName"], "bob");
    assert_eq!(p["password"], REDACTED);
    assert_eq!(p["nested"]["list"][0]["privateKey"], REDACTED);
    // Identifiers of secrets are not secrets: the alert says which secret was touched.
    assert_eq!(
        p["secretId"],
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"
    );
    assert_eq!(
        p["SecretARN"],
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:db2"
    );
    // Response elements (credentials of AssumeRole...) are never included.
    let mut a = stop_logging();
    a["responseElements"] = json!({"credentials": {"secretAccessKey": "wJalrEXAMPLEKEY"}});
    assert!(!serde_json::to_string(&summarize_record(&a))
        .unwrap()
        .contains("wJalr"));
    for k in [
        "accessKeyId",
        "secretVersionId",
        "roleArn",
        "bucketName",
        "keyId",
    ] {
        assert!(!is_sensitive_key(k), "{k}");
    }
    for k in [
        "password",
        "NewPassword",
        "secretAccessKey",
        "sessionToken",
        "private_key",
        "SecretString",
        "credentials",
    ] {
        assert!(is_sensitive_key(k), "{k}");
    }
}

#[test]
fn large_request_parameters_are_cut() {
    let mut r = stop_logging();
    r["requestParameters"] = json!({
        "policyDocument": "x".repeat(10_000),
        "a": (0..500).map(|i| format!("value-{i}")).collect::<Vec<_>>(),
    });
    let s = summarize_record(&r);
    let p = &s["requestParameters"];
    assert!(p["_cut"].as_str().unwrap().ends_with("bytes"), "{p}");
    assert_eq!(p["_keys"], json!(["a", "policyDocument"]));
    // Long strings are cut with a marker.
    let mut r = stop_logging();
    r["userAgent"] = json!("u".repeat(2000));
    let s = summarize_record(&r);
    let ua = s["userAgent"].as_str().unwrap();
    assert!(ua.len() < 600 && ua.ends_with("bytes cut]"), "{ua}");
}

#[test]
fn context_from_the_topic_arn() {
    let c = AlarmContext::from_topic_arn(
        Some("arn:aws-us-gov:sns:us-gov-west-1:111122223333:t"),
        "us-gov-west-1",
    );
    assert_eq!(c.partition, "aws-us-gov");
    assert_eq!(c.account_id, "111122223333");
    assert_eq!(
        c.alarm_arn("A"),
        "arn:aws-us-gov:cloudwatch:us-gov-west-1:111122223333:alarm:A"
    );
    let c = AlarmContext::from_topic_arn(None, "eu-west-1");
    assert_eq!(c.partition, "aws");
    assert_eq!(region_name("eu-west-1"), "EU (Ireland)");
    assert_eq!(region_name("xx-test-9"), "xx-test-9");
}

const GOOD_YAML: &str = r#"
# Custom filters on top of the CIS ones.
- filterName: DeleteBucket
  filterPattern: '{ $.eventSource = "s3.amazonaws.com" && $.eventName = "DeleteBucket" }'
  metricTransformations:
    - metricName: DeleteBucketCount
      metricNamespace: Custom/Security
      metricValue: "1"
      unit: Count
  alarm:
    AlarmDescription: A bucket was deleted
    Threshold: 1
- filterName: ErrorsByUser
  filterPattern: '{ $.errorCode = * }'
  metricTransformations:
    - metricName: Errors
      metricNamespace: Custom/Security
      metricValue: "1"
      dimensions:
        User: $.userIdentity.userName
  alarm:
    AlarmName: ErrorsByMallory
    Statistic: SampleCount
    Period: 60
    EvaluationPeriods: 5
    DatapointsToAlarm: 3
    Threshold: 10
    ComparisonOperator: GreaterThanThreshold
    TreatMissingData: missing
    Dimensions:
      - Name: User
        Value: mallory
- filterName: MetricOnly
  filterPattern: '[ip, user, ..., status = 5*]'
  metricTransformations:
    - metricName: ServerErrors
      metricNamespace: Custom/Web
      metricValue: $status
      defaultValue: 0
"#;

#[test]
fn user_filters_from_yaml() {
    let filters = parse_filters("filters.yaml", GOOD_YAML).unwrap();
    assert_eq!(filters.len(), 3);
    let engine = Engine::new(Some("CISBenchmark"), &filters, "filters.yaml").unwrap();
    assert_eq!(engine.filters().len(), 18);
    assert_eq!(engine.alarms().len(), 17, "the third filter has no alarm");
    assert!(engine.has_default_values());
    let a = &engine.alarms()[15];
    assert_eq!(a.name, "DeleteBucket");
    assert_eq!(a.description.as_deref(), Some("A bucket was deleted"));
    assert_eq!(a.period, 300);
    assert_eq!(
        a.treat_missing_data,
        TreatMissingData::Missing,
        "CloudWatch's default"
    );
    assert_eq!(a.statistic, Statistic::Sum);
    assert_eq!(
        a.comparison_operator,
        crate::alarm::ComparisonOperator::GreaterThanOrEqualToThreshold
    );
    assert_eq!(a.metric.namespace, "Custom/Security");
    let b = &engine.alarms()[16];
    assert_eq!(b.name, "ErrorsByMallory");
    assert_eq!(
        (b.period, b.evaluation_periods, b.datapoints_to_alarm),
        (60, 5, 3)
    );
    assert_eq!(b.statistic, Statistic::SampleCount);
    assert_eq!(
        b.metric.dimensions,
        vec![("User".to_string(), "mallory".to_string())]
    );
    // Without the CIS filters.
    let engine = Engine::new(None, &filters, "filters.yaml").unwrap();
    assert_eq!(engine.filters().len(), 3);
    assert!(!engine.filters()[0].builtin);
    assert!(engine.filters()[2].extracts);
}

#[test]
fn user_filters_from_json_and_describe_metric_filters_output() {
    let list = r#"[{"filterName":"F","filterPattern":"ERROR","metricTransformations":[{"metricName":"Errors","metricNamespace":"App","metricValue":"1"}],"alarm":{}}]"#;
    let f = parse_filters("f.json", list).unwrap();
    assert_eq!(f[0].alarm, Some(AlarmSpec::default()));
    let described = r#"{"metricFilters":[{"filterName":"F","filterPattern":"ERROR","metricTransformations":[{"metricName":"Errors","metricNamespace":"App","metricValue":"1"}],"creationTime":1700000000000,"logGroupName":"/aws/cloudtrail","applyOnTransformedLogs":false}]}"#;
    let f = parse_filters("described.json", described).unwrap();
    assert_eq!(f[0].log_group_name.as_deref(), Some("/aws/cloudtrail"));
    assert!(f[0].alarm.is_none());
    let e = Engine::new(None, &f, "described.json").unwrap();
    assert!(e.alarms().is_empty());
    assert!(parse_filters("empty.yaml", "").unwrap().is_empty());
}

#[test]
fn bad_filter_files_say_what_and_where() {
    let err = |path: &str, text: &str| -> String {
        match parse_filters(path, text) {
            Err(e) => e.to_string(),
            Ok(f) => match Engine::new(Some("CISBenchmark"), &f, path) {
                Err(e) => e.to_string(),
                Ok(_) => panic!("accepted: {text}"),
            },
        }
    };
    let one = |body: &str| {
        format!(
            "- filterName: F\n  filterPattern: '{{ $.eventName = \"X\" }}'\n  metricTransformations:\n    - metricName: M\n      metricNamespace: N\n      metricValue: \"1\"\n{body}"
        )
    };
    let cases: Vec<(String, &str)> = vec![
        (err("f.yaml", "- filterName: [unclosed"), "is not valid YAML"),
        (err("f.json", "{\"metricFilters\": [}"), "is not valid JSON"),
        (
            err("f.yaml", "filters: 3"),
            "is not valid YAML: expected a list of filters, or {\"metricFilters\": [...]}",
        ),
        (
            err("f.yaml", &one("  alarms: {}\n")),
            "filter #1 (\"F\"): unknown field `alarms`",
        ),
        (
            err(
                "f.yaml",
                "- filterName: F\n  filterPattern: '{ $.x = '\n  metricTransformations: [{metricName: M, metricNamespace: N, metricValue: '1'}]\n",
            ),
            "filter #1 (\"F\"): invalid metric filter filterPattern: expected a value",
        ),
        (
            err("f.yaml", &one("  alarm:\n    Period: 45\n")),
            "alarm.Period must be 10, 20, 30 or a multiple of 60",
        ),
        (
            err("f.yaml", &one("  alarm:\n    ComparisonOperator: '>='\n")),
            "alarm.ComparisonOperator \">=\" is not valid: expected one of GreaterThanOrEqualToThreshold",
        ),
        (
            err("f.yaml", &one("  alarm:\n    Threshold: one\n")),
            "filter #1 (\"F\")",
        ),
        (
            err("f.yaml", &one("  alarm:\n    Tresholds: 1\n")),
            "unknown field `Tresholds`",
        ),
        (
            err(
                "f.yaml",
                "- filterName: RootAccountUsage\n  filterPattern: ''\n  metricTransformations: [{metricName: M, metricNamespace: N, metricValue: '1'}]\n",
            ),
            "already used by a built-in CIS filter",
        ),
        (
            err(
                "f.yaml",
                "- filterName: A\n  filterPattern: ''\n  metricTransformations: [{metricName: M, metricNamespace: N, metricValue: '1'}]\n  alarm: {AlarmName: X}\n- filterName: B\n  filterPattern: ''\n  metricTransformations: [{metricName: M, metricNamespace: N, metricValue: '1'}]\n  alarm: {AlarmName: X}\n",
            ),
            "filter #2 (\"B\"): AlarmName \"X\" is already used",
        ),
        (
            err(
                "f.yaml",
                "- filterName: D\n  filterPattern: '{ $.a = 1 }'\n  metricTransformations: [{metricName: M, metricNamespace: N, metricValue: '1', dimensions: {U: $.user}}]\n  alarm: {}\n",
            ),
            "alarm.Dimensions must name exactly the metric's dimensions",
        ),
        (
            err(
                "f.yaml",
                "- filterName: T\n  filterPattern: ''\n  metricTransformations: []\n",
            ),
            "must have exactly 1 transformation",
        ),
    ];
    for (got, want) in cases {
        assert!(got.contains(want), "{got:?} should contain {want:?}");
        assert!(got.contains("f.yaml") || got.contains("f.json"), "{got}");
    }
    let missing = load_filters_file(Path::new("/nonexistent/filters.yaml")).unwrap_err();
    assert!(
        missing
            .to_string()
            .starts_with("cannot read the filters file /nonexistent/filters.yaml"),
        "{missing}"
    );
}

use crate::alarm::{Statistic, TreatMissingData};
use filters::AlarmSpec;
use std::path::Path;

#[test]
fn config_from_the_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    let c = AlertingConfig::from_env_with(&env(&[
        ("TRAIL_BUCKET", "trail"),
        ("AWS_REGION", "eu-west-1"),
    ]))
    .unwrap();
    assert_eq!(c.namespace, "CISBenchmark");
    assert!(c.enable_cis);
    assert_eq!(c.state_prefix, "trailwarden-state/alarms/");
    assert_eq!(c.topic_arn, None);
    let c = AlertingConfig::from_env_with(&env(&[
        ("TRAIL_BUCKET", "trail"),
        ("AWS_REGION", "eu-west-1"),
        (
            "ALERT_TOPIC_ARN",
            "arn:aws:sns:eu-west-1:111122223333:alerts",
        ),
        ("METRIC_NAMESPACE", "LogMetrics"),
        ("ENABLE_CIS_FILTERS", "false"),
        ("STATE_PREFIX", "/state/"),
    ]))
    .unwrap();
    assert_eq!(c.namespace, "LogMetrics");
    assert!(!c.enable_cis);
    assert_eq!(c.state_prefix, "state/");
    assert_eq!(c.context().account_id, "111122223333");
    let e = AlertingConfig::from_env_with(&env(&[("AWS_REGION", "eu-west-1")])).unwrap_err();
    assert_eq!(e.to_string(), "TRAIL_BUCKET is required");
    let e = AlertingConfig::from_env_with(&env(&[
        ("TRAIL_BUCKET", "t"),
        ("AWS_REGION", "eu-west-1"),
        ("ENABLE_CIS_FILTERS", "yes"),
    ]))
    .unwrap_err();
    assert!(e.to_string().contains("true or false"), "{e}");
    let e = AlertingConfig::from_env_with(&env(&[
        ("TRAIL_BUCKET", "t"),
        ("AWS_REGION", "eu-west-1"),
        ("ALERT_TOPIC_ARN", "alerts"),
    ]))
    .unwrap_err();
    assert!(e.to_string().contains("SNS topic ARN"), "{e}");
    // FILTERS_FILE on disk.
    let dir = std::env::temp_dir().join(format!("tw-filters-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("filters.yaml");
    std::fs::write(&f, GOOD_YAML).unwrap();
    let mut c = AlertingConfig::new("t", "us-east-1");
    c.filters_file = Some(f.clone());
    assert_eq!(c.engine().unwrap().filters().len(), 18);
    std::fs::write(&f, "- filterName: x\n").unwrap();
    let e = c.engine().unwrap_err().to_string();
    assert!(
        e.contains("filters.yaml, filter #1 (\"x\"): missing field `filterPattern`"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    // A namespace the filters refuse is reported when the filters are compiled.
    let mut c = AlertingConfig::new("t", "us-east-1");
    c.namespace = "bad:namespace".into();
    assert!(c
        .engine()
        .unwrap_err()
        .to_string()
        .contains("METRIC_NAMESPACE"));
}

#[test]
fn s3_keys_are_decoded_and_filtered() {
    assert_eq!(
        decode_s3_key("AWSLogs/a+b%3Dc/%C3%A9.json.gz").unwrap(),
        "AWSLogs/a b=c/é.json.gz"
    );
    assert!(decode_s3_key("bad%2").is_err());
    assert!(decode_s3_key("bad%zz").is_err());
    assert!(decode_s3_key("%FF").is_err());
    assert!(is_log_file_key(
        "AWSLogs/123456789012/CloudTrail/us-east-1/2023/07/10/123456789012_CloudTrail_us-east-1_20230710T1205Z_abc.json.gz"
    )
    .is_ok());
    assert_eq!(
        is_log_file_key("AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2023/07/10/123456789012_CloudTrail-Digest_us-east-1_t_us-east-1_20230710T130000Z.json.gz"),
        Err("a digest file")
    );
    assert!(is_log_file_key("AWSLogs/x/CloudTrail/us-east-1/x.json").is_err());
    assert!(is_log_file_key("trailwarden-state/alarms/x.json.gz").is_err());
}

//! No secret in the functions' logs (issue 7): requests whose `requestParameters` carry a
//! password (and a malformed message carrying one) go through the real function binaries
//! (log-delivery, metric-filter-alarm, remediator) against the emulator with logging at `debug`;
//! everything they write to stdout and stderr (their CloudWatch Logs) is searched for the
//! secret. The records themselves are delivered intact (the trail keeps what CloudTrail sent;
//! the secret is kept out of logs and alerts, not out of the audit record).

use std::time::Duration;

use serde_json::{json, Value};
use trailwarden_tests::runtime_api::{RuntimeApi, RuntimeOutcome};
use trailwarden_tests::{function_binary, Moto};

const BUCKET: &str = "secrets-trail";
const SECRET: &str = "hunter2-Sup3rSecret-0xC0FFEE";

fn record(i: usize) -> Value {
    // The first is the root user's call (the CIS root-usage alarm fires on one record).
    let identity = if i == 0 {
        json!({"type": "Root", "arn": "arn:aws:iam::123837392027:root", "accountId": "123837392027"})
    } else {
        json!({"type": "IAMUser", "arn": "arn:aws:iam::123837392027:user/ops",
               "accountId": "123837392027", "userName": "ops"})
    };
    json!({
        "eventVersion": "1.08",
        "userIdentity": identity,
        // In the last complete 5-minute period, the one the alarms evaluate now.
        "eventTime": (chrono::Utc::now() - chrono::Duration::minutes(5))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        "eventSource": "iam.amazonaws.com",
        "eventName": if i == 0 { "CreateLoginProfile" } else { "ChangePassword" },
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2",
        "errorCode": "AccessDenied",
        "requestParameters": {"userName": "ops", "password": SECRET, "newPassword": SECRET, "oldPassword": SECRET},
        "responseElements": null,
        "eventID": format!("secret-{i}"),
        "eventType": "AwsApiCall",
        "recipientAccountId": "123837392027"
    })
}

fn env(moto: &Moto, topic: &str) -> Vec<(String, String)> {
    let mut e = moto.env();
    e.extend([
        ("TRAIL_BUCKET".to_string(), BUCKET.to_string()),
        ("ALERT_TOPIC_ARN".to_string(), topic.to_string()),
        ("RUST_LOG".to_string(), "debug".to_string()),
    ]);
    e
}

fn run(
    api: &mut RuntimeApi,
    bin: &str,
    env: &[(String, String)],
    log: &std::path::Path,
    event: Value,
) -> Value {
    let mut child = api.spawn_logging(&function_binary(bin), env, Some(log));
    let outcome = api.invoke(event, Duration::from_secs(120), &mut child);
    let _ = child.kill();
    let _ = child.wait();
    match outcome {
        RuntimeOutcome::Response(v) => v,
        other => panic!("{bin}: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_in_request_parameters_never_reach_the_logs() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    moto.bucket(BUCKET).await;
    let sns = aws_sdk_sns::Client::new(&moto.sdk_config().await);
    let topic = sns
        .create_topic()
        .name("secrets-alerts")
        .send()
        .await
        .expect("topic")
        .topic_arn
        .unwrap_or_default();
    let sqs_client = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
    let inbox = sqs_client
        .create_queue()
        .queue_name("secrets-inbox")
        .send()
        .await
        .expect("queue")
        .queue_url
        .unwrap_or_default();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint("arn:aws:sqs:us-east-1:123456789012:secrets-inbox")
        .send()
        .await
        .expect("subscribe");
    let env = env(&moto, &topic);
    let log = std::env::temp_dir().join(format!("trailwarden-secrets-{}.log", moto.port));
    let _ = std::fs::remove_file(&log);
    let mut api = RuntimeApi::start();

    // log-delivery: two records with passwords, and a malformed message with one.
    let bodies = [
        json!({"detail-type": "AWS API Call via CloudTrail", "detail": record(0)}).to_string(),
        record(1).to_string(),
        format!(r#"{{"detail": {{"requestParameters": {{"password": "{SECRET}"}}, "eventTime": "#),
    ];
    let sqs = json!({"Records": bodies.iter().enumerate().map(|(i, b)| json!({
        "messageId": format!("m{i}"), "receiptHandle": "rh", "body": b, "attributes": {},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123837392027:q", "awsRegion": "us-east-1"})).collect::<Vec<_>>()});
    let resp = run(&mut api, "log-delivery", &env, &log, sqs);
    assert_eq!(resp["batchItemFailures"], json!([]), "{resp}");
    let listed = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix("AWSLogs/")
        .send()
        .await
        .expect("list");
    let key = listed
        .contents()
        .iter()
        .filter_map(|o| o.key())
        .find(|k| k.contains("/CloudTrail/"))
        .expect("a delivered file")
        .to_string();

    // metric-filter-alarm: the delivered file (the CIS root-usage alarm goes to ALARM on the
    // first record, so an alert with the records' summaries is published).
    let s3_event = json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-21T00:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": BUCKET, "arn": format!("arn:aws:s3:::{BUCKET}")},
               "object": {"key": key, "size": 1}}}]});
    let report = run(&mut api, "metric-filter-alarm", &env, &log, s3_event);
    assert_eq!(report["records"], 2, "{report}");
    assert!(
        report["notifications"].as_u64().unwrap_or(0) >= 1,
        "{report}"
    );

    // remediator: a tampering event whose requestParameters carry a secret, for another trail
    // (ignored) and a malformed one.
    let tamper = json!({"version": "0", "id": "x", "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.cloudtrail", "account": "123837392027", "time": "2026-11-21T00:00:00Z",
        "region": "us-east-1", "resources": [],
        "detail": {"eventSource": "cloudtrail.amazonaws.com", "eventName": "UpdateTrail",
                   "requestParameters": {"name": "someone-elses", "password": SECRET}}});
    run(&mut api, "remediator", &env, &log, tamper);
    run(
        &mut api,
        "remediator",
        &env,
        &log,
        json!({"detail-type": "Config Rules Compliance Change", "detail": {"password": SECRET}}),
    );

    let logs = std::fs::read_to_string(&log).expect("function logs");
    assert!(logs.len() > 200, "the functions logged something: {logs}");
    assert!(!logs.contains(SECRET), "a secret reached the logs:\n{logs}");

    // The alerts (SNS) are redacted too.
    let got = sqs_client
        .receive_message()
        .queue_url(&inbox)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive");
    let alerts: Vec<&str> = got.messages().iter().filter_map(|m| m.body()).collect();
    assert!(!alerts.is_empty(), "an alert was published");
    for a in &alerts {
        assert!(!a.contains(SECRET), "a secret reached an alert: {a}");
    }
    assert!(alerts.iter().any(|a| a.contains("REDACTED")), "{alerts:?}");

    // The audit record itself keeps what CloudTrail sent.
    let obj = s3
        .get_object()
        .bucket(BUCKET)
        .key(&key)
        .send()
        .await
        .expect("get");
    let bytes = obj.body.collect().await.expect("body").into_bytes();
    let text = String::from_utf8(trailwarden::gz::decompress(&bytes, u64::MAX).expect("gzip"))
        .expect("utf8");
    assert!(text.contains(SECRET), "the delivered record is unchanged");
}

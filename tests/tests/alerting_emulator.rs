//! metric-filter-alarm end to end: a real CloudTrail log file delivered into the emulator's
//! bucket by trailwarden's log delivery, the function run through the Lambda runtime (`cargo
//! lambda watch` + `cargo lambda invoke --data-file`) with an S3 object-created event for it, the
//! alert read back from an SQS queue subscribed to the SNS topic, the alarm state read back from
//! the bucket; then a redelivered event, a file without matches and the sample subscription
//! payloads from `events/`.

use aws_sdk_sqs::Client as Sqs;
use chrono::Utc;
use serde_json::{json, Value};
use trailwarden::alarm::AlarmRecord;
use trailwarden::delivery::{deliver_batch, DeliveryConfig, Message};
use trailwarden::layout::TrailLocation;
use trailwarden::store::ObjectStore;
use trailwarden_tests::{kit, repo_root, LambdaWatch, Moto};

const BUCKET: &str = "trailwarden-trail";
/// A prefix with a character S3 events percent-encode, so the key decoding is exercised.
const PREFIX: &str = "audit=trail";

fn invictus(name: &str) -> String {
    let p = kit().join("data/cloudtrail/invictus-ir").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Percent-encodes a key as S3 event notifications do.
fn encode_key(k: &str) -> String {
    k.bytes()
        .map(|b| match b {
            b' ' => "+".to_string(),
            b if b.is_ascii_alphanumeric() || b"/-_.*".contains(&b) => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// Writes an S3 object-created event for `key` to a temporary file.
fn event_file(dir: &std::path::Path, name: &str, key: &str) -> std::path::PathBuf {
    let event = json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": Utc::now().to_rfc3339(),
            "eventName": "ObjectCreated:Put",
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "trailwarden-new-log-files",
                "bucket": {"name": BUCKET, "arn": format!("arn:aws:s3:::{BUCKET}")},
                "object": {"key": encode_key(key), "size": 1}
            }
        }]
    });
    let p = dir.join(name);
    std::fs::write(&p, event.to_string()).unwrap();
    p
}

/// Every message waiting in the queue (read and deleted): (subject, parsed alarm message).
async fn drain(sqs: &Sqs, queue: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let msgs = got.messages();
        if msgs.is_empty() {
            return out;
        }
        for m in msgs {
            let envelope: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            assert_eq!(envelope["Type"], "Notification", "{envelope}");
            let message: Value =
                serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
            out.push((
                envelope["Subject"].as_str().unwrap_or("").to_string(),
                message,
            ));
            sqs.delete_message()
                .queue_url(queue)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

fn alarms(alerts: &[(String, Value)]) -> Vec<String> {
    let mut v: Vec<String> = alerts
        .iter()
        .filter(|(_, m)| m["NewStateValue"] == "ALARM")
        .map(|(_, m)| m["AlarmName"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_through_cargo_lambda_against_the_emulator() {
    let moto = Moto::start();
    let cfg = moto.sdk_config().await;
    let store = moto.bucket(BUCKET).await;
    let sns = aws_sdk_sns::Client::new(&cfg);
    let topic = sns
        .create_topic()
        .name("trailwarden-alerts")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let sqs = Sqs::new(&cfg);
    let queue = sqs
        .create_queue()
        .queue_name("alerts-inbox")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint("arn:aws:sqs:us-east-1:123456789012:alerts-inbox")
        .send()
        .await
        .unwrap();

    // Deliver a real log file (CreateTrail, StartLogging, StopLogging) as log-delivery does.
    let location = TrailLocation::new(BUCKET, Some(PREFIX), None).unwrap();
    let delivery = DeliveryConfig::new(location);
    let deliver = |name: &str| Message {
        id: name.to_string(),
        body: invictus(name),
        sent: Some(Utc::now()),
    };
    let report = deliver_batch(
        &store,
        &delivery,
        &[deliver(
            "218007301253_CloudTrail_us-east-1_20230710T1205Z_SjF3IkuNXJkoHyar.json",
        )],
        Utc::now(),
    )
    .await;
    assert_eq!(report.files.len(), 1, "{report:?}");
    let key = report.files[0].key.clone();
    assert!(key.starts_with("audit=trail/AWSLogs/"), "{key}");

    let mut env = moto.env();
    for (k, v) in [
        ("TRAIL_BUCKET", BUCKET),
        ("ALERT_TOPIC_ARN", topic.as_str()),
        ("METRIC_NAMESPACE", "CISBenchmark"),
        ("RUST_LOG", "info"),
    ] {
        env.push((k.into(), v.into()));
    }
    let watch = LambdaWatch::start(&env);
    let tmp = std::env::temp_dir().join(format!("tw-alerting-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();

    // The new log file: the CloudTrailChanges alarm fires, with the records.
    let ev = event_file(&tmp, "s3-event.json", &key);
    let r = watch.invoke("metric-filter-alarm", &ev).unwrap();
    assert_eq!(r["records"], 26, "{r}");
    assert_eq!(r["matches"]["CloudTrailChanges"], 3, "{r}");
    assert_eq!(r["errors"], json!([]), "{r}");
    assert!(r["emfDocuments"].as_u64().unwrap() >= 1, "{r}");
    let alerts = drain(&sqs, &queue).await;
    assert_eq!(alarms(&alerts), ["CloudTrailChanges"], "{alerts:#?}");
    let (subject, m) = alerts
        .iter()
        .find(|(_, m)| m["NewStateValue"] == "ALARM")
        .unwrap();
    assert_eq!(
        subject,
        "ALARM: \"CloudTrailChanges\" in US East (N. Virginia)"
    );
    assert_eq!(
        m["AlarmArn"],
        format!(
            "arn:aws:cloudwatch:us-east-1:{}:alarm:CloudTrailChanges",
            topic.split(':').nth(4).unwrap()
        )
    );
    assert_eq!(m["Trigger"]["Statistic"], "SUM");
    assert_eq!(m["MatchingRecordsTotal"], 3);
    let names: Vec<&str> = m["MatchingRecords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["eventName"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"StopLogging"), "{names:?}");
    assert!(m["MatchingRecords"][0]["userIdentity"]["arn"].is_string());
    // The records are old: the alarm recovered in the same run, and said so.
    assert!(alerts
        .iter()
        .any(|(s, m)| s.starts_with("OK:") && m["OldStateValue"] == "ALARM"));

    // The state objects were written to the trail bucket.
    let states = store
        .list(BUCKET, "trailwarden-state/alarms/", None)
        .await
        .unwrap();
    assert_eq!(states.len(), 15, "{states:?}");
    let st: AlarmRecord = serde_json::from_slice(
        &store
            .get(BUCKET, "trailwarden-state/alarms/CloudTrailChanges.json")
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(st.state_value, trailwarden::alarm::AlarmState::Ok);
    assert!(
        st.sources[0].starts_with(&format!("s3://{BUCKET}/{key}#")),
        "{st:?}"
    );

    // The same event again (S3 delivers at least once): no second alert.
    let r = watch.invoke("metric-filter-alarm", &ev).unwrap();
    assert_eq!(r["transitions"], json!([]), "{r}");
    assert!(!r["duplicates"].as_array().unwrap().is_empty(), "{r}");
    assert_eq!(r["emfDocuments"], 0, "no metric is published twice: {r}");
    assert!(drain(&sqs, &queue).await.is_empty());

    // A new file without matches: no alert.
    let report = deliver_batch(
        &store,
        &delivery,
        &[deliver(
            "218007301253_CloudTrail_us-east-1_20230710T1145Z_7xgocspSowgK0Gto.json",
        )],
        Utc::now(),
    )
    .await;
    let quiet = event_file(&tmp, "s3-event-quiet.json", &report.files[0].key);
    let r = watch.invoke("metric-filter-alarm", &quiet).unwrap();
    assert_eq!(r["records"], 29, "{r}");
    assert_eq!(r["matches"], json!({}), "{r}");
    assert_eq!(r["transitions"], json!([]), "{r}");
    assert!(drain(&sqs, &queue).await.is_empty());

    // A digest key is ignored.
    let digest = event_file(
        &tmp,
        "s3-event-digest.json",
        "AWSLogs/123837392027/CloudTrail-Digest/us-east-1/2023/07/10/123837392027_CloudTrail-Digest_us-east-1_trailwarden_us-east-1_20230710T130000Z.json.gz",
    );
    let r = watch.invoke("metric-filter-alarm", &digest).unwrap();
    assert_eq!(r["records"], 0);
    assert_eq!(r["skipped"].as_array().unwrap().len(), 1, "{r}");

    // The sample CloudWatch Logs subscription payload from events/.
    let events = repo_root().join("events/metric-filter-alarm");
    let r = watch
        .invoke(
            "metric-filter-alarm",
            &events.join("cloudwatch-logs-subscription.json"),
        )
        .unwrap();
    assert_eq!(r["records"], 8, "{r}");
    assert_eq!(r["badInputs"], json!([]), "{r}");
    let alerts = drain(&sqs, &queue).await;
    assert_eq!(
        alarms(&alerts),
        [
            "CloudTrailChanges",
            "ConsoleSigninWithoutMFA",
            "SecurityGroupChanges",
            "UnauthorizedAPICalls"
        ],
        "{alerts:#?}"
    );
    let mfa = alerts
        .iter()
        .find(|(_, m)| m["AlarmName"] == "ConsoleSigninWithoutMFA" && m["NewStateValue"] == "ALARM")
        .unwrap();
    assert_eq!(mfa.1["MatchingRecords"][0]["mfaUsed"], "No");
    let r = watch
        .invoke(
            "metric-filter-alarm",
            &events.join("cloudwatch-logs-control-message.json"),
        )
        .unwrap();
    assert_eq!(r["records"], 0);
    assert_eq!(r["skipped"].as_array().unwrap().len(), 1, "{r}");
    assert!(drain(&sqs, &queue).await.is_empty());

    // An event of an unknown shape is reported, not retried.
    let odd = tmp.join("odd.json");
    std::fs::write(&odd, r#"{"hello":"world"}"#).unwrap();
    let r = watch.invoke("metric-filter-alarm", &odd).unwrap();
    assert!(r["badInputs"][0]["error"]
        .as_str()
        .unwrap()
        .contains("unknown event shape"));
    drop(watch);
    let _ = std::fs::remove_dir_all(&tmp);
}

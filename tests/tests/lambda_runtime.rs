//! Every function through the real Lambda runtime path (`cargo lambda watch` + `cargo lambda
//! invoke --data-file events/...`) against the emulator, checking each one's effect.

use trailwarden::store::ObjectStore;
use trailwarden_tests::{repo_root, LambdaWatch, Moto};

const BUCKET: &str = "trailwarden-trail";
const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:123837392027:trail/trailwarden";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_run_through_cargo_lambda_against_the_emulator() {
    let moto = Moto::start();
    let cfg = moto.sdk_config().await;
    let store = moto.bucket(BUCKET).await;
    let kms = aws_sdk_kms::Client::new(&cfg);
    let key = kms
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::Rsa2048)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_string();
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
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let q = sqs
        .create_queue()
        .queue_name("alerts-inbox")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let q_arn = "arn:aws:sqs:us-east-1:123456789012:alerts-inbox";
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(q_arn)
        .send()
        .await
        .unwrap();

    let mut env = moto.env();
    for (k, v) in [
        ("TRAIL_BUCKET", BUCKET),
        ("TRAIL_ARN", TRAIL),
        ("SIGNING_KEY_ID", key_id.as_str()),
        ("ALERT_TOPIC_ARN", topic.as_str()),
        ("RUST_LOG", "info"),
    ] {
        env.push((k.into(), v.into()));
    }
    let watch = LambdaWatch::start(&env);
    let ev = |p: &str| repo_root().join("events").join(p);

    // log-delivery: four messages, three body shapes, one file; nothing to retry.
    let r = watch
        .invoke("log-delivery", &ev("log-delivery/sqs-batch.json"))
        .unwrap();
    assert_eq!(r["batchItemFailures"], serde_json::json!([]), "{r}");
    let logs = store
        .list(
            BUCKET,
            "AWSLogs/123837392027/CloudTrail/us-east-1/2023/07/10/",
            None,
        )
        .await
        .unwrap();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let body = store.get(BUCKET, &logs[0].key).await.unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&trailwarden::gz::decompress(&body.body, u64::MAX).unwrap())
            .unwrap();
    assert_eq!(v["Records"].as_array().unwrap().len(), 5);

    // Malformed messages are quarantined, not retried, and do not block the good one.
    let r = watch
        .invoke(
            "log-delivery",
            &ev("log-delivery/sqs-batch-with-malformed-messages.json"),
        )
        .unwrap();
    assert_eq!(r["batchItemFailures"], serde_json::json!([]), "{r}");
    let quarantined = store
        .list(BUCKET, "trailwarden-quarantine/", None)
        .await
        .unwrap();
    assert_eq!(quarantined.len(), 2, "{quarantined:?}");

    // digest-signer: the hour ending at the event's time, signed with KMS.
    let r = watch
        .invoke("digest-signer", &ev("digest-signer/scheduled-hourly.json"))
        .unwrap();
    let digests = r["digests"].as_array().unwrap();
    assert_eq!(digests.len(), 1, "{r}");
    assert!(digests[0]["key"]
        .as_str()
        .unwrap()
        .ends_with("_CloudTrail-Digest_us-east-1_trailwarden_us-east-1_20230710T130000Z.json.gz"));
    let d = store
        .get(BUCKET, digests[0]["key"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(
        d.metadata.get("signature-algorithm").map(String::as_str),
        Some("SHA256withRSA")
    );
    assert_eq!(d.metadata.get("signature").map(|s| s.len()), Some(512));
    // Invoked again for the same hour (a retry): no second digest.
    let again = watch
        .invoke("digest-signer", &ev("digest-signer/scheduled-hourly.json"))
        .unwrap();
    assert_eq!(again["digests"][0]["created"], false, "{again}");

    // log-validator: the day after; the chain stopped after one hour, so every later hour's
    // digest is missing: it alerts once, listing every problem. (The files delivered above were
    // written seconds ago, so they are not yet due in a digest and are not reported.)
    let r = watch
        .invoke("log-validator", &ev("log-validator/scheduled-daily.json"))
        .unwrap();
    assert_eq!(r["alerted"], true, "{r}");
    let problems: Vec<&str> = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    assert!(
        problems.iter().any(|p| p.contains("newest digest missing")),
        "{problems:?}"
    );
    assert_eq!(problems.len(), 11, "14:00 to 00:00: {problems:?}");
    assert!(
        !problems.iter().any(|p| p.contains("not listed")),
        "{problems:?}"
    );
    let msgs = sqs
        .receive_message()
        .queue_url(&q)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let got = msgs.messages();
    assert_eq!(got.len(), 1, "one alert");
    let envelope: serde_json::Value = serde_json::from_str(got[0].body().unwrap()).unwrap();
    assert!(
        envelope["Subject"]
            .as_str()
            .unwrap()
            .contains("integrity problem"),
        "{envelope}"
    );
    assert!(envelope["Message"]
        .as_str()
        .unwrap()
        .contains("20230711T000000Z.json.gz\tINVALID: not found"));
    drop(watch);
}

//! Delivery on real data and under bad input and failing writes: nothing lost, nothing doubled.

use std::collections::HashMap;
use std::path::PathBuf;

use async_trait::async_trait;
use chrono::Utc;
use trailwarden::delivery::{deliver_batch, DeliveryConfig, Message};
use trailwarden::layout::TrailLocation;
use trailwarden::store::{Listed, MemoryStore, Object, ObjectStore, Put, StoreError};

fn kit() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/cloudtrail")
}

/// A store whose writes fail for keys containing `fail_on` (a region, say).
struct Faulty {
    inner: MemoryStore,
    fail_on: std::sync::Mutex<Option<String>>,
}

#[async_trait]
impl ObjectStore for Faulty {
    async fn put(&self, bucket: &str, key: &str, put: Put) -> Result<Option<String>, StoreError> {
        if let Some(f) = self.fail_on.lock().unwrap().as_deref() {
            if key.contains(f) {
                return Err(StoreError::Other {
                    bucket: bucket.into(),
                    key: key.into(),
                    message: "503 SlowDown".into(),
                    retryable: true,
                });
            }
        }
        self.inner.put(bucket, key, put).await
    }
    async fn get(&self, bucket: &str, key: &str) -> Result<Object, StoreError> {
        self.inner.get(bucket, key).await
    }
    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<&str>,
    ) -> Result<Vec<Listed>, StoreError> {
        self.inner.list(bucket, prefix, start_after).await
    }
    async fn list_dirs(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.list_dirs(bucket, prefix).await
    }
}

fn rec(id: &str, region: &str) -> String {
    format!(
        r#"{{"eventTime":"2024-05-01T10:00:00Z","eventID":"{id}","awsRegion":"{region}","recipientAccountId":"111122223333","eventName":"X","futureField":{{"a":[1,2.50,"\u00e9"]}}}}"#
    )
}

async fn delivered_event_ids(store: &MemoryStore) -> Vec<String> {
    let mut ids = Vec::new();
    for k in store.keys().into_iter().filter(|k| k.ends_with(".json.gz")) {
        let o = store.get("b", &k).await.unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(&trailwarden::gz::decompress(&o.body, u64::MAX).unwrap())
                .unwrap();
        for r in v["Records"].as_array().unwrap() {
            ids.push(r["eventID"].as_str().unwrap_or("").to_string());
        }
    }
    ids.sort();
    ids
}

#[tokio::test]
async fn partial_failure_quarantine_and_redelivery_lose_nothing() {
    let mem = MemoryStore::new();
    let store = Faulty {
        inner: mem.clone(),
        fail_on: std::sync::Mutex::new(Some("eu-west-1".into())),
    };
    let cfg = DeliveryConfig::new(TrailLocation::new("b", None, None).unwrap());
    let msg = |id: &str, body: String| Message {
        id: id.into(),
        body,
        sent: None,
    };
    let batch = vec![
        msg("A", rec("a1", "us-east-1")),
        msg("B", rec("b1", "eu-west-1")),
        msg("C", "this is not json".into()),
        msg("D", format!("[{}, 42, {}]", rec("d1", "us-east-1"), r#"{"eventTime":"2024-05-01T10:00:00Z","awsRegion":"us-east-1/../../x","recipientAccountId":"111122223333"}"#)),
        msg("E", rec("e1", "us-east-1")[..30].to_string()),
        msg("F", r#"{"Type":"Notification","TopicArn":"arn:aws:sns:us-east-1:111122223333:t","Message":"[]"}"#.into()),
    ];
    let r = deliver_batch(&store, &cfg, &batch, Utc::now()).await;
    // Only the message whose file failed is retried; malformed ones never block the batch.
    assert_eq!(r.failed_message_ids, vec!["B".to_string()]);
    let q: HashMap<_, _> = r
        .quarantined
        .iter()
        .map(|q| (q.message_id.as_str(), q))
        .collect();
    assert!(
        q["C"].reasons[0].contains("not valid JSON"),
        "{:?}",
        q["C"].reasons
    );
    assert!(q["D"]
        .reasons
        .iter()
        .any(|x| x.contains("record #1 is not a JSON object")));
    assert!(q["D"].reasons.iter().any(|x| x.contains("invalid region")));
    assert!(q["E"].reasons[0].contains("not valid JSON"));
    assert!(!q.contains_key("F"), "an empty array is not an error");
    // The quarantined body is kept whole.
    let kept = mem.get("b", &q["C"].key).await.unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&kept.body).unwrap();
    assert_eq!(doc["body"], "this is not json");
    assert_eq!(delivered_event_ids(&mem).await, vec!["a1", "d1"]);

    // SQS redelivers B (alone, or with the whole batch again): delivered once, no duplicates.
    *store.fail_on.lock().unwrap() = None;
    let again = deliver_batch(&store, &cfg, &batch[1..2], Utc::now()).await;
    assert!(again.failed_message_ids.is_empty());
    let whole = deliver_batch(&store, &cfg, &batch, Utc::now()).await;
    assert!(whole.failed_message_ids.is_empty());
    // Each file's key derives from its own records, so the full-batch retry rewrites nothing.
    assert!(whole.files.iter().all(|f| !f.created), "{:?}", whole.files);
    assert_eq!(delivered_event_ids(&mem).await, vec!["a1", "b1", "d1"]);
}

#[tokio::test]
async fn unknown_fields_survive_and_every_kit_shape_is_accepted() {
    let mem = MemoryStore::new();
    let cfg = DeliveryConfig::new(TrailLocation::new("b", Some("imports"), None).unwrap());
    let mut inputs: Vec<(String, String)> = Vec::new();
    for sub in ["invictus-ir", "stratus-red-team"] {
        for e in std::fs::read_dir(kit().join(sub)).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "json") {
                inputs.push((
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read_to_string(e.path()).unwrap(),
                ));
            }
        }
    }
    let otrf =
        std::fs::read_to_string(kit().join("otrf/ec2_proxy_s3_exfiltration_2020-09-14011940.json"))
            .unwrap();
    for (i, line) in otrf.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        inputs.push((format!("otrf-{i}"), line.to_string()));
    }
    let panther: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            kit().join("panther-labelled/panther_aws_cloudtrail_rule_tests.json"),
        )
        .unwrap(),
    )
    .unwrap();
    for (i, t) in panther.as_array().unwrap().iter().enumerate() {
        inputs.push((format!("panther-{i}"), t["record"].to_string()));
    }
    let msgs: Vec<Message> = inputs
        .iter()
        .map(|(id, body)| Message {
            id: id.clone(),
            body: body.clone(),
            sent: None,
        })
        .collect();
    let mut expected: Vec<serde_json::Value> = Vec::new();
    for m in &msgs {
        let v: serde_json::Value = serde_json::from_str(&m.body).unwrap();
        match v {
            serde_json::Value::Array(a) => expected.extend(a),
            serde_json::Value::Object(ref o) if o.contains_key("Records") => {
                expected.extend(o["Records"].as_array().unwrap().iter().cloned())
            }
            other => expected.push(other),
        }
    }
    let r = deliver_batch(&mem, &cfg, &msgs, Utc::now()).await;
    assert!(r.failed_message_ids.is_empty());
    assert_eq!(
        r.records_delivered + r.records_rejected,
        expected.len(),
        "every record delivered or quarantined with a reason"
    );
    assert!(r.records_delivered > 3300, "{}", r.records_delivered);
    // Rejections are records without the fields a trail file needs (placeholders in the
    // hand-written panther tests), each with a reason.
    for q in &r.quarantined {
        assert!(
            q.message_id.starts_with("panther-") || q.message_id.starts_with("otrf"),
            "{q:?}"
        );
    }
    // Every delivered record is byte-for-byte in meaning what arrived (unknown fields included).
    let mut delivered: Vec<serde_json::Value> = Vec::new();
    for f in &r.files {
        let o = mem.get("b", &f.key).await.unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(&trailwarden::gz::decompress(&o.body, u64::MAX).unwrap())
                .unwrap();
        delivered.extend(v["Records"].as_array().unwrap().iter().cloned());
        assert!(f.key.starts_with("imports/AWSLogs/"), "{}", f.key);
    }
    let key = |v: &serde_json::Value| v.to_string();
    let mut want: Vec<String> = expected.iter().map(key).collect();
    let got: Vec<String> = delivered.iter().map(key).collect();
    want.sort();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    for g in &got_sorted {
        assert!(
            want.binary_search(g).is_ok(),
            "delivered record not identical to any input: {g}"
        );
    }
    let otrf_kept = delivered.iter().any(|v| v.get("@timestamp").is_some());
    assert!(otrf_kept, "extra keys such as @timestamp survive");
}

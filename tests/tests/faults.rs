//! Faults (issue 7): delivery, signing and validation through a fault-injecting proxy in front
//! of moto_server (`trailwarden_tests::faults`).
//!
//! 1. 100,000 events (EventBridge envelopes of records resampled from the kit's real CloudTrail
//!    records, each with a unique eventID) go through the delivery handler path in SQS batches of
//!    1,000 while 20% of the PutObject calls fail (500, 503 SlowDown, throttling, dropped
//!    connection, in turn). The SDK's own retries are switched off, so every fault reaches the
//!    handler and its partial batch response; the messages it reports failed are redelivered
//!    (SQS-style: they come back in later batches, mixed with others) until none is left. Then:
//!    every eventID is in exactly one delivered file, the hour's digests are signed (the
//!    scheduled signer retried while its PutObject fails), and the chain validates.
//! 2. The log-delivery binary is killed between its PutObject and its response (the proxy's hook
//!    kills the process once the emulator has stored the file): the redelivered batch, handled
//!    by a fresh process, produces no second file and no gap.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use aws_sdk_s3::config::retry::RetryConfig;
use chrono::{Duration, DurationRound, Utc};
use serde_json::{json, Value};
use trailwarden::aws::s3::{S3Store, Sse};
use trailwarden::delivery::{deliver_batch_owned, DeliveryConfig, Message};
use trailwarden::digest::{sign_all, SignerConfig};
use trailwarden::layout::{TrailArn, TrailLocation};
use trailwarden::signer::{LocalSigner, Signer};
use trailwarden::store::ObjectStore;
use trailwarden::validate::{validate, ValidateRequest};
use trailwarden_tests::faults::{AfterForward, Fault, FaultProxy, Target};
use trailwarden_tests::{kit, repo_root, Moto};

const BUCKET: &str = "fault-trail";
const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:123837392027:trail/trailwarden";

fn signer() -> LocalSigner {
    let pem = std::fs::read_to_string(repo_root().join("shared/tests/data/test-signing-key.pem"))
        .expect("test key");
    LocalSigner::from_pem(&pem).expect("pem")
}

/// The kit's real records (invictus-ir), for resampling.
fn real_records() -> Vec<Value> {
    let dir = kit().join("data/cloudtrail/invictus-ir");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("kit")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let v: Value = serde_json::from_slice(&std::fs::read(&f).expect("read")).expect("json");
        if let Some(rs) = v["Records"].as_array() {
            out.extend(rs.iter().cloned());
        }
    }
    out
}

/// `n` EventBridge events, each a resampled real record with a unique eventID.
fn events(n: usize) -> Vec<(String, String)> {
    let pool = real_records();
    let now = Utc::now();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut r = pool[(state % pool.len() as u64) as usize].clone();
            let id = format!("fault-{i:06}");
            r["eventID"] = json!(id);
            r["eventTime"] = json!((now - Duration::seconds((i % 600) as i64))
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string());
            let body = json!({
                "version": "0", "id": format!("evt-{i}"), "detail-type": "AWS API Call via CloudTrail",
                "source": "aws.cloudtrail", "account": "123837392027", "time": r["eventTime"],
                "region": "us-east-1", "resources": [], "detail": r,
            })
            .to_string();
            (id, body)
        })
        .collect()
}

async fn store_via(endpoint: &str) -> S3Store {
    let cfg = trailwarden::aws::config_loader()
        .endpoint_url(endpoint)
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "moto",
        ))
        // Every injected fault reaches the handler (the function's own client retries; this
        // test wants the redelivery path exercised, not hidden).
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    S3Store::new(
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&cfg)
                .force_path_style(true)
                .build(),
        ),
        Sse::S3,
    )
}

/// Every delivered log file's eventIDs (read straight from the emulator), with the file count.
async fn delivered_ids(store: &S3Store) -> (HashMap<String, usize>, usize) {
    let listed = store.list(BUCKET, "AWSLogs/", None).await.expect("list");
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut files = 0;
    for o in listed.iter().filter(|o| o.key.contains("/CloudTrail/")) {
        files += 1;
        let obj = store.get(BUCKET, &o.key).await.expect("get");
        let json = trailwarden::gz::decompress(&obj.body, u64::MAX).expect("gzip");
        let v: Value = serde_json::from_slice(&json).expect("json");
        for r in v["Records"].as_array().expect("Records") {
            *ids.entry(r["eventID"].as_str().unwrap_or("").to_string())
                .or_default() += 1;
        }
    }
    (ids, files)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_thousand_events_with_a_fifth_of_puts_failing() {
    const EVENTS: usize = 100_000;
    const BATCH: usize = 1_000;
    let moto = Moto::start();
    let direct = moto.bucket(BUCKET).await;
    let proxy = FaultProxy::start(moto.port, Target::PutObject, 0.20, 7);
    let store = store_via(&proxy.endpoint).await;
    let cfg = DeliveryConfig::new(TrailLocation::new(BUCKET, None, None).expect("location"));

    // The queue: (message id, body, receive count); failed messages go to the back.
    let all = events(EVENTS);
    let expected: HashSet<String> = all.iter().map(|(id, _)| id.clone()).collect();
    let mut queue: VecDeque<(String, String, u32)> = all
        .into_iter()
        .enumerate()
        .map(|(i, (_, body))| (format!("msg-{i:06}"), body, 1))
        .collect();
    let (mut invocations, mut redelivered, mut max_receives) = (0usize, 0usize, 1u32);
    let sent = Utc::now();
    while !queue.is_empty() {
        invocations += 1;
        assert!(invocations < 1_000, "redelivery does not converge");
        let batch: Vec<_> = queue.drain(..BATCH.min(queue.len())).collect();
        let msgs: Vec<Message> = batch
            .iter()
            .map(|(id, body, _)| Message {
                id: id.clone(),
                body: body.clone(),
                sent: Some(sent),
            })
            .collect();
        let report = deliver_batch_owned(&store, &cfg, msgs, Utc::now()).await;
        assert!(report.quarantined.is_empty(), "{:?}", report.quarantined);
        let failed: HashSet<&str> = report
            .failed_message_ids
            .iter()
            .map(String::as_str)
            .collect();
        for (id, body, n) in batch {
            if failed.contains(id.as_str()) {
                redelivered += 1;
                max_receives = max_receives.max(n + 1);
                queue.push_back((id, body, n + 1));
            }
        }
    }
    let stats = proxy.stats();
    eprintln!(
        "{EVENTS} events, {invocations} handler invocations, {redelivered} messages redelivered \
         (at most {max_receives} receives), PutObject calls {} with {} faults injected {:?}",
        stats.matching,
        stats.injected_total(),
        stats.injected
    );
    for k in Fault::ALL {
        assert!(
            stats.injected.get(&k).copied().unwrap_or(0) > 0,
            "{k:?} never injected"
        );
    }
    let share = stats.injected_total() as f64 / stats.matching as f64;
    assert!((0.12..0.28).contains(&share), "fault share {share}");
    assert!(redelivered > 0);

    // Every record in exactly one delivered file.
    let (ids, files) = delivered_ids(&direct).await;
    let dupes: Vec<_> = ids.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(dupes.is_empty(), "records delivered twice: {dupes:?}");
    let got: HashSet<String> = ids.keys().cloned().collect();
    let missing: Vec<_> = expected.difference(&got).take(5).collect();
    assert!(missing.is_empty(), "records lost: {missing:?}");
    assert_eq!(got.len(), EVENTS);
    eprintln!("{files} log files hold the {EVENTS} records once each");

    // The hourly signer, retried by its schedule while its PutObject fails.
    let trail = TrailArn::parse(TRAIL).expect("arn");
    let scfg = SignerConfig::new(
        TrailLocation::new(BUCKET, None, None).unwrap(),
        trail.clone(),
    );
    let signer = signer();
    let end = Utc::now().duration_trunc(Duration::hours(1)).unwrap() + Duration::hours(1);
    let mut attempts = 0;
    let digests = loop {
        attempts += 1;
        match sign_all(&store, &signer, &scfg, end).await {
            Ok(d) => break d,
            Err(e) if attempts < 20 => eprintln!("signer attempt {attempts}: {e}"),
            Err(e) => panic!("signer failed 20 times: {e}"),
        }
    };
    assert!(!digests.is_empty());
    eprintln!("digests signed after {attempts} attempt(s)");

    // Validation (reads only; through the emulator directly) passes.
    let mut req = ValidateRequest::new(
        trail,
        TrailLocation::new(BUCKET, None, None).unwrap(),
        end - Duration::hours(2),
        end,
        vec![signer.public_key().await.expect("public key")],
    );
    req.concurrency = 8;
    let report = validate(&direct, &req).await.expect("validate");
    let (out, err) = report.render(true);
    assert!(report.ok(), "{out}\n{err}");
    assert_eq!(report.valid_logs, files, "{out}");
}

/// Kill the function between its PutObject and its response; redeliver the batch to a fresh
/// process: no second file, no gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn function_killed_after_put_before_response() {
    use trailwarden_tests::runtime_api::{RuntimeApi, RuntimeOutcome};
    let moto = Moto::start();
    let direct = moto.bucket(BUCKET).await;
    let proxy = FaultProxy::start(moto.port, Target::PutObject, 0.0, 1);
    let bin = trailwarden_tests::function_binary("log-delivery");

    let batch: Vec<(String, String)> = events(500);
    let sqs = json!({"Records": batch.iter().enumerate().map(|(i, (_, body))| json!({
        "messageId": format!("kill-{i:04}"), "receiptHandle": "rh", "body": body,
        "attributes": {"SentTimestamp": "1763712000000", "ApproximateReceiveCount": "1"},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123837392027:trailwarden-delivery", "awsRegion": "us-east-1"
    })).collect::<Vec<_>>()});

    // First process: killed by the proxy as soon as the emulator stored its file.
    let mut api = RuntimeApi::start();
    let victim: Arc<Mutex<Option<u32>>> = Arc::new(Mutex::new(None));
    let first_body: Arc<Mutex<Option<Vec<u8>>>> = Arc::new(Mutex::new(None));
    {
        let (victim, first_body) = (victim.clone(), first_body.clone());
        proxy.set_after_forward(Some(Arc::new(move |path: &str, body: &[u8], status| {
            if status == 200 && path.contains("/AWSLogs/") {
                first_body
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert_with(|| body.to_vec());
                if let Some(pid) = *victim.lock().unwrap_or_else(|e| e.into_inner()) {
                    let _ = std::process::Command::new("kill")
                        .args(["-9", &pid.to_string()])
                        .status();
                }
                return AfterForward::Drop;
            }
            AfterForward::Pass
        })));
    }
    let env = function_env(&proxy.endpoint);
    let mut child = api.spawn(&bin, &env);
    *victim.lock().unwrap() = Some(child.id());
    let outcome = api.invoke(sqs.clone(), std::time::Duration::from_secs(120), &mut child);
    assert!(
        matches!(outcome, RuntimeOutcome::Died(_)),
        "the function should have been killed: {outcome:?}"
    );
    let (_, files_after_kill) = delivered_ids(&direct).await;
    assert_eq!(files_after_kill, 1, "the file was stored before the kill");

    // Redelivery to a fresh process (Lambda starts a new execution environment).
    proxy.set_after_forward(None);
    let mut child = api.spawn(&bin, &env);
    let outcome = api.invoke(sqs, std::time::Duration::from_secs(120), &mut child);
    let _ = child.kill();
    let _ = child.wait();
    let RuntimeOutcome::Response(resp) = outcome else {
        panic!("redelivered batch: {outcome:?}");
    };
    assert_eq!(
        resp["batchItemFailures"].as_array().map(Vec::len),
        Some(0),
        "{resp}"
    );
    let (ids, files) = delivered_ids(&direct).await;
    assert_eq!(files, 1, "no second file");
    assert_eq!(ids.len(), batch.len(), "no gap");
    assert!(ids.values().all(|n| *n == 1), "no duplicate record");
    assert!(first_body.lock().unwrap().is_some());
}

fn function_env(endpoint: &str) -> Vec<(String, String)> {
    vec![
        ("AWS_ENDPOINT_URL".into(), endpoint.into()),
        ("AWS_ACCESS_KEY_ID".into(), "test".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ("TRAIL_BUCKET".into(), BUCKET.into()),
        ("RUST_LOG".into(), "warn".into()),
    ]
}

//! Delivery, digest signing and validation through the real AWS SDK against moto_server.

use chrono::{Duration, DurationRound, Utc};
use trailwarden::delivery::{deliver_batch, DeliveryConfig, Message};
use trailwarden::digest::{sign_all, sign_chain, SignerConfig};
use trailwarden::layout::{TrailArn, TrailLocation};
use trailwarden::signer::{LocalSigner, Signer};
use trailwarden::store::ObjectStore;
use trailwarden::validate::{validate, ValidateRequest};
use trailwarden_tests::{kit, repo_root, Moto};

const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:123837392027:trail/trailwarden";

fn signer() -> LocalSigner {
    let pem = std::fs::read_to_string(repo_root().join("shared/tests/data/test-signing-key.pem"))
        .unwrap();
    LocalSigner::from_pem(&pem).unwrap()
}

fn invictus_messages(n: usize) -> Vec<Message> {
    let dir = kit().join("data/cloudtrail/invictus-ir");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .take(n)
        .map(|p| Message {
            id: p.file_name().unwrap().to_string_lossy().into_owned(),
            body: std::fs::read_to_string(p).unwrap(),
            sent: Some(Utc::now()),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deliver_sign_validate_on_the_emulator() {
    let moto = Moto::start();
    let store = moto.bucket("trail-bucket").await;
    let loc = TrailLocation::new("trail-bucket", Some("audit"), None).unwrap();
    let cfg = DeliveryConfig::new(loc.clone());
    let msgs = invictus_messages(5);

    let first = deliver_batch(&store, &cfg, &msgs, Utc::now()).await;
    assert!(first.failed_message_ids.is_empty(), "{first:?}");
    assert!(first.quarantined.is_empty());
    assert_eq!(first.files.len(), 1, "one account/region per batch");
    assert!(first.files.iter().all(|f| f.created));
    let key = &first.files[0].key;
    assert!(
        key.starts_with("audit/AWSLogs/123837392027/CloudTrail/us-east-1/"),
        "{key}"
    );

    // Server-side encryption was requested and applied.
    let s3 = moto.s3().await;
    let head = s3
        .head_object()
        .bucket("trail-bucket")
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption().map(|s| s.as_str()),
        Some("AES256")
    );

    // Every record arrived, bytes of each record unchanged.
    let obj = store.get("trail-bucket", key).await.unwrap();
    let json = trailwarden::gz::decompress(&obj.body, u64::MAX).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let expected: usize = msgs
        .iter()
        .map(|m| {
            serde_json::from_str::<serde_json::Value>(&m.body).unwrap()["Records"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(v["Records"].as_array().unwrap().len(), expected);

    // A retried batch writes nothing new (same key, conditional write refused = already there).
    let again = deliver_batch(&store, &cfg, &msgs, Utc::now()).await;
    assert_eq!(again.files.len(), 1);
    assert_eq!(again.files[0].key, *key);
    assert!(!again.files[0].created);
    let listed = store
        .list("trail-bucket", "audit/AWSLogs/", None)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);

    // Two signers for the same hour at once: one digest, chain intact.
    let trail = TrailArn::parse(TRAIL).unwrap();
    let scfg = SignerConfig::new(loc.clone(), trail.clone());
    let signer = signer();
    let end = Utc::now().duration_trunc(Duration::hours(1)).unwrap() + Duration::hours(1);
    let (a, b) = tokio::join!(
        sign_chain(&store, &signer, &scfg, "123837392027", "us-east-1", end),
        sign_chain(&store, &signer, &scfg, "123837392027", "us-east-1", end)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len(), 1);
    assert_eq!(b.len(), 1);
    assert_eq!(a[0].key, b[0].key);
    assert_eq!(
        [a[0].created, b[0].created].iter().filter(|c| **c).count(),
        1,
        "exactly one invocation wrote the digest"
    );
    // The next hour chains to it; a repeat of that hour writes nothing.
    let next = sign_all(&store, &signer, &scfg, end + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    assert!(next[0].created && !next[0].chain_start);
    let repeat = sign_all(
        &store,
        &signer,
        &scfg,
        end + Duration::hours(1) + Duration::minutes(5),
    )
    .await
    .unwrap();
    assert!(repeat.iter().all(|s| !s.created));

    let mut req = ValidateRequest::new(
        trail,
        loc,
        end - Duration::hours(2),
        end + Duration::hours(1),
        vec![signer.public_key().await.unwrap()],
    );
    req.concurrency = 8;
    let report = validate(&store, &req).await.unwrap();
    let (out, err) = report.render(true);
    assert!(report.ok(), "{out}\n{err}");
    assert_eq!(report.valid_digests, 2, "{out}");
    assert_eq!(report.valid_logs, 1, "{out}");
}

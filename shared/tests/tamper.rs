//! The tamper matrix, in memory: every kind of tampering is detected with the right message.
//! (`tests/tests/tamper_awscli.rs` runs the same cases on the emulator with the AWS CLI beside us.)

use chrono::{TimeZone, Utc};
use rsa::pkcs8::DecodePrivateKey;
use rsa::RsaPrivateKey;
use trailwarden::signer::{LocalSigner, PublicKey, Signer};
use trailwarden::testkit::{apply, build_chain, Chain, Tamper};
use trailwarden::validate::{validate, Event, Report, ValidateRequest};

fn key(name: &str) -> RsaPrivateKey {
    let pem = std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR")))
        .unwrap();
    RsaPrivateKey::from_pkcs8_pem(&pem).unwrap()
}

async fn chain(signer: &LocalSigner) -> Chain {
    build_chain(
        signer,
        Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap(),
        6,
        2,
        3,
    )
    .await
}

async fn run(chain: &Chain, keys: Vec<PublicKey>) -> Report {
    let req = ValidateRequest::new(
        chain.trail.clone(),
        chain.location.clone(),
        chain.start,
        chain.end,
        keys,
    );
    validate(&chain.store, &req).await.unwrap()
}

fn has(report: &Report, key: &str, reason: &str) -> bool {
    report.events.iter().any(
        |e| matches!(e, Event::Invalid { key: k, reason: r, .. } if k == key && r.contains(reason)),
    )
}

#[tokio::test]
async fn untampered_chain_is_valid() {
    let signer = LocalSigner::from_key(key("test-signing-key.pem")).unwrap();
    let c = chain(&signer).await;
    assert_eq!(c.digests.len(), 6);
    let r = run(&c, vec![signer.public_key().await.unwrap()]).await;
    let (out, err) = r.render(false);
    assert!(r.ok(), "{out}{err}");
    assert_eq!((r.valid_digests, r.valid_logs), (6, 12), "{out}");
    assert!(
        out.contains("6/6 digest files valid\n12/12 log files valid")
            || out.contains("\n6/6 digest files valid\n12/12 log files valid"),
        "{out}"
    );
    assert!(err.is_empty());
}

#[tokio::test]
async fn every_tampering_is_detected_with_its_reason() {
    let signing = key("test-signing-key.pem");
    let other = key("other-signing-key.pem");
    let signer = LocalSigner::from_key(signing.clone()).unwrap();
    let public = signer.public_key().await.unwrap();
    for t in Tamper::ALL {
        let c = chain(&signer).await;
        let expected = apply(&c, t, &signing, &other).await;
        let r = run(&c, vec![public.clone()]).await;
        let (out, err) = r.render(true);
        assert_eq!(r.exit_code(), 1, "{t:?} not detected:\n{out}{err}");
        for (k, reason) in &expected.findings {
            assert!(
                has(&r, k, reason),
                "{t:?}: expected {k} INVALID: {reason}\n{err}"
            );
        }
        // Each problem is reported once.
        let mut lines: Vec<String> = r.problems().map(Event::line).collect();
        let n = lines.len();
        lines.sort();
        lines.dedup();
        assert_eq!(n, lines.len(), "{t:?}: duplicate reports\n{err}");
    }
}

#[tokio::test]
async fn swapped_public_key_rejects_every_digest() {
    let signer = LocalSigner::from_key(key("test-signing-key.pem")).unwrap();
    let c = chain(&signer).await;
    let wrong = LocalSigner::from_key(key("other-signing-key.pem"))
        .unwrap()
        .public_key()
        .await
        .unwrap();
    let r = run(&c, vec![wrong]).await;
    assert_eq!(r.valid_digests, 0);
    assert_eq!(r.invalid_digests, 6);
    assert!(r
        .problems()
        .all(|e| e.line().contains("public key not found")
            || e.line().contains("not listed in any valid digest")));
}

#[tokio::test]
async fn keys_under_2048_bits_are_refused() {
    let weak = key("weak-1024-key.pem");
    let signer = LocalSigner::from_key(weak).unwrap();
    let c = chain(&signer).await;
    let r = run(&c, vec![signer.public_key().await.unwrap()]).await;
    assert_eq!(r.valid_digests, 0);
    assert!(r.problems().any(|e| e
        .line()
        .contains("has 1024 bits; at least 2048 are required")));
    let pem = std::fs::read_to_string(format!(
        "{}/tests/data/weak-1024-key.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let err = LocalSigner::from_pem(&pem)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("at least 2048"), "{err}");
}

#[tokio::test]
async fn a_gap_in_signing_is_filled_and_the_chain_restart_is_not_an_error() {
    let signer = LocalSigner::from_key(key("test-signing-key.pem")).unwrap();
    let c = chain(&signer).await;
    // The signer missed three hours: the next run fills them in order, chained.
    let scfg = trailwarden::digest::SignerConfig::new(c.location.clone(), c.trail.clone());
    let later = c.end + chrono::Duration::hours(3);
    let signed = trailwarden::digest::sign_chain(
        &c.store,
        &signer,
        &scfg,
        "111122223333",
        "us-east-1",
        later,
    )
    .await
    .unwrap();
    assert_eq!(signed.len(), 3);
    assert!(signed.iter().all(|s| s.created && !s.chain_start));
    let req = ValidateRequest::new(
        c.trail.clone(),
        c.location.clone(),
        c.start,
        later,
        vec![signer.public_key().await.unwrap()],
    );
    let r = validate(&c.store, &req).await.unwrap();
    assert!(r.ok(), "{:?}", r.render(true));
    assert_eq!(r.valid_digests, 9);
}

#[tokio::test]
async fn progress_counts_every_file_once_and_ends_at_the_total() {
    use std::sync::{Arc, Mutex};
    let signer = LocalSigner::from_key(key("test-signing-key.pem")).unwrap();
    let c = chain(&signer).await;
    let calls: Arc<Mutex<Vec<(usize, usize)>>> = Arc::default();
    let mut req = ValidateRequest::new(
        c.trail.clone(),
        c.location.clone(),
        c.start,
        c.end,
        vec![signer.public_key().await.unwrap()],
    );
    let sink = calls.clone();
    req.progress = Some(Arc::new(move |done, total| {
        sink.lock().unwrap().push((done, total))
    }));
    let r = validate(&c.store, &req).await.unwrap();
    assert!(r.ok());
    let calls = calls.lock().unwrap().clone();
    // One call per file (6 digests, 12 logs), counting up by one, never past what is known.
    let files = c.digests.len() + c.logs.iter().map(Vec::len).sum::<usize>();
    assert_eq!(files, 18);
    assert_eq!(calls.len(), files, "{calls:?}");
    for (i, (done, total)) in calls.iter().enumerate() {
        assert_eq!(*done, i + 1, "{calls:?}");
        assert!(done <= total, "{calls:?}");
    }
    assert_eq!(calls.last(), Some(&(files, files)));
}

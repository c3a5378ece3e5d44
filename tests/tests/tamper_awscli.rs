//! The tamper matrix on the emulator, with the unmodified `aws cloudtrail validate-logs` (awscli
//! 1.46.2, public-key lookup replaced by a local key file: scripts/awscli_validate.py) run on the
//! same bucket beside ours. Ours must detect every case; the AWS CLI's verdicts are recorded in
//! `$CARGO_TARGET_TMPDIR/tamper-matrix.md` and its known blind spots are asserted, so the
//! comparison in SECURITY.md is checked on every run.

use std::process::Command;

use chrono::{Duration, DurationRound, Utc};
use rsa::pkcs8::DecodePrivateKey;
use rsa::RsaPrivateKey;
use trailwarden::signer::{LocalSigner, Signer};
use trailwarden::store::ObjectStore;
use trailwarden::testkit::{apply, build_chain, Chain, Tamper, BUCKET};
use trailwarden::validate::{validate, Event, ValidateRequest};
use trailwarden_tests::{repo_root, tools_bin, Moto};

fn key(name: &str) -> RsaPrivateKey {
    let pem = std::fs::read_to_string(repo_root().join("shared/tests/data").join(name)).unwrap();
    RsaPrivateKey::from_pkcs8_pem(&pem).unwrap()
}

async fn upload(moto: &Moto, chain: &Chain, bucket: &str) {
    let s3 = moto.s3().await;
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    for k in chain.store.keys() {
        let o = chain.store.get(BUCKET, &k).await.unwrap();
        let mut req = s3.put_object().bucket(bucket).key(&k).body(o.body.into());
        for (mk, mv) in o.metadata {
            req = req.metadata(mk, mv);
        }
        req.send().await.unwrap();
    }
}

struct AwsCli {
    exit: i32,
    stderr: String,
    stdout: String,
}

fn aws_cli(moto: &Moto, keys_file: &std::path::Path, chain: &Chain, bucket: &str) -> AwsCli {
    let bin = tools_bin().expect("MOTO_SERVER not set: run scripts/test.sh");
    let out = Command::new(bin.join("python"))
        .arg(repo_root().join("scripts/awscli_validate.py"))
        .args([
            "cloudtrail",
            "validate-logs",
            "--trail-arn",
            &chain.trail.arn,
            "--s3-bucket",
            bucket,
            "--region",
            "us-east-1",
            "--verbose",
        ])
        .args([
            "--start-time",
            &trailwarden::layout::format_time(chain.start),
            "--end-time",
            &trailwarden::layout::format_time(chain.end),
        ])
        .envs(moto.env())
        .env("AWS_ENDPOINT_URL_S3", &moto.endpoint)
        .env("TRAILWARDEN_PUBLIC_KEYS", keys_file)
        .output()
        .expect("run the AWS CLI");
    AwsCli {
        exit: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tamper_matrix_ours_and_the_aws_cli() {
    let moto = Moto::start();
    let signing = key("test-signing-key.pem");
    let other = key("other-signing-key.pem");
    let signer = LocalSigner::from_key(signing.clone()).unwrap();
    let public = signer.public_key().await.unwrap();
    let dir = std::env::temp_dir().join(format!("tw-tamper-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let keys_file = dir.join("ListPublicKeys.json");
    std::fs::write(&keys_file, serde_json::json!({"PublicKeyList":[{"Fingerprint": public.fingerprint, "Value": public.pkcs1_base64()}]}).to_string()).unwrap();
    // A chain in the recent past, so that moto's real LastModified times fall after it; ours
    // validates "as of" two hours later, when every file written now is due in a digest.
    let t0 = Utc::now().duration_trunc(Duration::hours(1)).unwrap() - Duration::hours(8);

    let mut table = String::from(
        "| tampering | trailwarden | aws cloudtrail validate-logs (1.46.2) |\n|---|---|---|\n",
    );
    let mut cases: Vec<Option<Tamper>> = vec![None];
    cases.extend(Tamper::ALL.iter().copied().map(Some));
    for (i, case) in cases.into_iter().enumerate() {
        let chain = build_chain(&signer, t0, 6, 2, 3).await;
        let expected = match case {
            Some(t) => apply(&chain, t, &signing, &other).await.findings,
            None => Vec::new(),
        };
        let _ = i;
        moto.reset();
        let bucket = BUCKET.to_string();
        upload(&moto, &chain, &bucket).await;
        let store =
            trailwarden::aws::s3::S3Store::new(moto.s3().await, trailwarden::aws::s3::Sse::S3);
        let loc = chain.location.clone();
        let mut req = ValidateRequest::new(
            chain.trail.clone(),
            loc,
            chain.start,
            chain.end,
            vec![public.clone()],
        );
        req.now = Utc::now() + Duration::hours(2);
        let ours = validate(&store, &req).await.unwrap();
        let (oout, oerr) = ours.render(false);
        let theirs = aws_cli(&moto, &keys_file, &chain, &bucket);
        let name = case
            .map(|t| format!("{t:?}"))
            .unwrap_or_else(|| "none (intact chain)".into());

        // Ours: every expected finding, exit 1 (0 for the intact chain).
        for (k, reason) in &expected {
            assert!(
                ours.events.iter().any(|e| matches!(e, Event::Invalid { key, reason: r, .. } if key == k && r.contains(reason))),
                "{name}: ours missed {k} ({reason})\n{oerr}"
            );
        }
        assert_eq!(
            ours.exit_code(),
            if case.is_some() { 1 } else { 0 },
            "{name}\n{oout}{oerr}"
        );

        let their_invalid: Vec<&str> = theirs
            .stderr
            .lines()
            .filter(|l| l.contains("INVALID"))
            .collect();
        let summary = |lines: Vec<String>| {
            if lines.is_empty() {
                "valid".to_string()
            } else {
                lines.join("<br>")
            }
        };
        let short = |l: &str| {
            l.split('\t')
                .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let ours_cell = format!(
            "exit {}: {}",
            ours.exit_code(),
            summary(ours.problems().map(|e| short(&e.line())).collect())
        );
        let theirs_cell = format!(
            "exit {}: {}",
            theirs.exit,
            summary(their_invalid.iter().map(|l| short(l)).collect())
        );
        table.push_str(&format!("| {name} | {ours_cell} | {theirs_cell} |\n"));

        // The AWS CLI's recorded behaviour (its blind spots, asserted so the comparison stays true).
        match case {
            None => assert_eq!(theirs.exit, 0, "{}{}", theirs.stdout, theirs.stderr),
            Some(
                Tamper::DeletedNewestDigest
                | Tamper::LogNotListed
                | Tamper::BrokenPreviousHashLink
                | Tamper::WeakHashSignature,
            ) => {
                assert_eq!(
                    theirs.exit, 0,
                    "{name}: the AWS CLI now detects this; update SECURITY.md\n{}",
                    theirs.stderr
                )
            }
            Some(Tamper::TwoConsecutiveDeletedDigests) => {
                assert_eq!(theirs.exit, 1);
                assert_eq!(
                    their_invalid
                        .iter()
                        .filter(|l| l.contains("not found"))
                        .count(),
                    1,
                    "{}",
                    theirs.stderr
                );
            }
            Some(_) => assert_eq!(
                theirs.exit, 1,
                "{name}: the AWS CLI missed it\n{}{}",
                theirs.stdout, theirs.stderr
            ),
        }
    }
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tamper-matrix.md");
    std::fs::write(&out, &table).unwrap();
    println!("{table}\n(written to {})", out.display());
    let _ = std::fs::remove_dir_all(&dir);
}

//! Test and benchmark support (feature `testkit`): builds signed digest chains with controlled
//! delivery times in a [`MemoryStore`], and applies each kind of tampering the validator must
//! catch. Used by the tamper-matrix tests (in memory and against the emulator with the AWS CLI
//! beside ours) and by the benchmarks.

pub mod http;
pub mod runtime_api;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use md5::{Digest as _, Md5};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};

use crate::delivery::{deliver_batch, DeliveryConfig, Message};
use crate::digest::{data_to_sign, sign_chain, DigestFile, SignerConfig};
use crate::gz;
use crate::layout::{TrailArn, TrailLocation};
use crate::signer::Signer;
use crate::store::{MemoryStore, ObjectStore};

pub const ACCOUNT: &str = "111122223333";
pub const REGION: &str = "us-east-1";
pub const BUCKET: &str = "trail-bucket";
pub const TRAIL_ARN: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/trailwarden";

/// A chain of `hours` digests, each listing `logs_per_hour` log files.
pub struct Chain {
    pub store: MemoryStore,
    pub location: TrailLocation,
    pub trail: TrailArn,
    /// Start of the first hour and end of the last.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Digest keys, oldest first.
    pub digests: Vec<String>,
    /// Log keys per digest, same order.
    pub logs: Vec<Vec<String>>,
}

/// A record shaped like CloudTrail's, with `n` used to vary it.
pub fn sample_record(t: DateTime<Utc>, n: usize) -> String {
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE{n}","arn":"arn:aws:iam::{ACCOUNT}:user/alice","accountId":"{ACCOUNT}","userName":"alice"}},"eventTime":"{}","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"{REGION}","sourceIPAddress":"198.51.100.{}","userAgent":"aws-cli/2.13.0","requestParameters":{{"maxResults":{n}}},"responseElements":null,"requestID":"req-{n}","eventID":"00000000-0000-0000-0000-{n:012}","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{ACCOUNT}","eventCategory":"Management"}}"#,
        crate::layout::format_time(t),
        n % 250
    )
}

/// Builds a chain: for each hour from `t0`, `logs_per_hour` files of `records_per_log` records
/// delivered during the hour, then that hour's digest signed a few minutes after it ends.
pub async fn build_chain(
    signer: &dyn Signer,
    t0: DateTime<Utc>,
    hours: usize,
    logs_per_hour: usize,
    records_per_log: usize,
) -> Chain {
    let store = MemoryStore::new();
    let location = TrailLocation::new(BUCKET, None, None).expect("static location");
    let trail = TrailArn::parse(TRAIL_ARN).expect("static ARN");
    let cfg = DeliveryConfig::new(location.clone());
    let scfg = SignerConfig::new(location.clone(), trail.clone());
    let mut digests = Vec::new();
    let mut logs = Vec::new();
    let mut n = 0;
    for h in 0..hours {
        let hour_start = t0 + Duration::hours(h as i64);
        let mut hour_logs = Vec::new();
        for f in 0..logs_per_hour {
            let at =
                hour_start + Duration::minutes(5 + (f as i64 * 50) / logs_per_hour.max(1) as i64);
            store.set_now(Some(at));
            let body = format!(
                "[{}]",
                (0..records_per_log)
                    .map(|_| {
                        n += 1;
                        sample_record(at - Duration::minutes(3), n)
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let msg = Message {
                id: format!("m-{h}-{f}"),
                body,
                sent: Some(at),
            };
            let report = deliver_batch(&store, &cfg, &[msg], at).await;
            hour_logs.extend(report.files.into_iter().map(|f| f.key));
        }
        let end = hour_start + Duration::hours(1);
        store.set_now(Some(end + Duration::minutes(2)));
        let signed = sign_chain(&store, signer, &scfg, ACCOUNT, REGION, end)
            .await
            .expect("signing into a memory store");
        digests.extend(signed.into_iter().map(|s| s.key));
        logs.push(hour_logs);
    }
    store.set_now(None);
    Chain {
        store,
        location,
        trail,
        start: t0,
        end: t0 + Duration::hours(hours as i64),
        digests,
        logs,
    }
}

/// Every kind of tampering in the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    ModifiedLog,
    DeletedLog,
    ExtraGzipMember,
    DeletedMiddleDigest,
    TwoConsecutiveDeletedDigests,
    DeletedNewestDigest,
    AlteredSignature,
    DigestMoved,
    MetadataStripped,
    LogNotListed,
    BrokenPreviousHashLink,
    /// Re-signed with SHA-1 (by the real key), still labelled SHA256withRSA.
    WeakHashSignature,
    /// A digest re-signed by another key, naming that key's fingerprint.
    SignedByAnotherKey,
    /// A modified digest re-signed by another key under the real key's fingerprint.
    ForgedFingerprint,
}

impl Tamper {
    pub const ALL: [Tamper; 14] = [
        Tamper::ModifiedLog,
        Tamper::DeletedLog,
        Tamper::ExtraGzipMember,
        Tamper::DeletedMiddleDigest,
        Tamper::TwoConsecutiveDeletedDigests,
        Tamper::DeletedNewestDigest,
        Tamper::AlteredSignature,
        Tamper::DigestMoved,
        Tamper::MetadataStripped,
        Tamper::LogNotListed,
        Tamper::BrokenPreviousHashLink,
        Tamper::WeakHashSignature,
        Tamper::SignedByAnotherKey,
        Tamper::ForgedFingerprint,
    ];
}

/// What the validator must report for a tampering: these keys, each with this reason text.
#[derive(Debug, Clone)]
pub struct Expected {
    pub findings: Vec<(String, &'static str)>,
}

async fn read_digest(store: &MemoryStore, key: &str) -> (DigestFile, HashMap<String, String>) {
    let obj = store.get(BUCKET, key).await.expect("digest present");
    let data = gz::decompress(&obj.body, u64::MAX).expect("digest gzip");
    (
        serde_json::from_slice(&data).expect("digest json"),
        obj.metadata,
    )
}

fn sign_with(key: &RsaPrivateKey, msg: &[u8], sha1: bool) -> Vec<u8> {
    if sha1 {
        let hashed = sha1_digest(msg);
        key.sign(
            Pkcs1v15Sign::new::<rsa::sha2::Sha256>().with_sha1_prefix(),
            &hashed,
        )
        .unwrap_or_default()
    } else {
        let hashed = <sha2::Sha256 as sha2::Digest>::digest(msg);
        key.sign(Pkcs1v15Sign::new::<rsa::sha2::Sha256>(), &hashed)
            .unwrap_or_default()
    }
}

trait Sha1Prefix {
    fn with_sha1_prefix(self) -> Pkcs1v15Sign;
}
impl Sha1Prefix for Pkcs1v15Sign {
    fn with_sha1_prefix(self) -> Pkcs1v15Sign {
        // DigestInfo prefix of SHA-1 (RFC 8017 §9.2).
        Pkcs1v15Sign {
            hash_len: Some(20),
            prefix: Box::new([
                0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
                0x14,
            ]),
        }
    }
}

fn sha1_digest(msg: &[u8]) -> Vec<u8> {
    // SHA-1 only to forge a weak signature in tests; computed with a tiny local implementation
    // so the library links no SHA-1 crate.
    sha1_small::digest(msg).to_vec()
}

/// Rewrites a digest's JSON with `edit`, re-signs it with `key` (and `sha1` if asked), and stores it
/// under `key_name` with `fingerprint`.
async fn resign(
    chain: &Chain,
    digest_key: &str,
    key: &RsaPrivateKey,
    sha1: bool,
    edit: impl FnOnce(&mut DigestFile),
) {
    let (mut d, _) = read_digest(&chain.store, digest_key).await;
    edit(&mut d);
    let json = serde_json::to_vec(&d).unwrap_or_default();
    let msg = data_to_sign(
        &d.digest_end_time,
        BUCKET,
        &d.digest_s3_object,
        &json,
        d.previous_digest_signature.as_deref(),
    );
    let sig = sign_with(key, msg.as_bytes(), sha1);
    let mut meta = HashMap::new();
    meta.insert("signature".into(), hex::encode(sig));
    meta.insert("signature-algorithm".into(), "SHA256withRSA".into());
    chain
        .store
        .overwrite(BUCKET, digest_key, gz::compress(&json, 6), meta);
}

/// Applies one tampering to the chain (which needs at least 5 hours with 2+ logs each).
/// `signing_key` is the chain's real key; `other_key` an attacker's.
pub async fn apply(
    chain: &Chain,
    t: Tamper,
    signing_key: &RsaPrivateKey,
    other_key: &RsaPrivateKey,
) -> Expected {
    let s = &chain.store;
    let d = &chain.digests;
    let mid = d.len() / 2;
    let log = chain.logs[mid][0].clone();
    let findings: Vec<(String, &'static str)> = match t {
        Tamper::ModifiedLog => {
            let obj = s.get(BUCKET, &log).await.expect("log");
            let mut data = gz::decompress(&obj.body, u64::MAX).expect("log gzip");
            if let Some(p) = data.windows(5).position(|w| w == b"alice") {
                data[p..p + 5].copy_from_slice(b"mallo");
            }
            s.overwrite(BUCKET, &log, gz::compress(&data, 6), obj.metadata);
            vec![(log, "hash value doesn't match")]
        }
        Tamper::DeletedLog => {
            s.remove(BUCKET, &log);
            vec![(log, "not found")]
        }
        Tamper::ExtraGzipMember => {
            let obj = s.get(BUCKET, &log).await.expect("log");
            let mut body = obj.body.clone();
            body.extend_from_slice(&gz::compress(
                br#"{"Records":[{"eventName":"Injected"}]}"#,
                6,
            ));
            s.overwrite(BUCKET, &log, body, obj.metadata);
            vec![(log, "unexpected data after end of compressed stream")]
        }
        Tamper::DeletedMiddleDigest => {
            s.remove(BUCKET, &d[mid]);
            vec![(d[mid].clone(), "not found")]
        }
        Tamper::TwoConsecutiveDeletedDigests => {
            s.remove(BUCKET, &d[mid]);
            s.remove(BUCKET, &d[mid - 1]);
            vec![
                (d[mid].clone(), "not found"),
                (d[mid - 1].clone(), "not found"),
            ]
        }
        Tamper::DeletedNewestDigest => {
            let last = d[d.len() - 1].clone();
            s.remove(BUCKET, &last);
            // Its logs now sit in no valid digest as well.
            let mut f = vec![(last, "not found")];
            f.extend(
                chain.logs[d.len() - 1]
                    .iter()
                    .map(|l| (l.clone(), "not listed in any valid digest")),
            );
            f
        }
        Tamper::AlteredSignature => {
            let obj = s.get(BUCKET, &d[mid]).await.expect("digest");
            let mut meta = obj.metadata.clone();
            let sig = meta.get("signature").cloned().unwrap_or_default();
            let flipped = match sig.strip_prefix('0') {
                Some(rest) => format!("1{rest}"),
                None => format!("0{}", sig.get(1..).unwrap_or("")),
            };
            meta.insert("signature".into(), flipped);
            s.overwrite(BUCKET, &d[mid], obj.body, meta);
            vec![(d[mid].clone(), "signature verification failed")]
        }
        Tamper::DigestMoved => {
            let obj = s.get(BUCKET, &d[mid]).await.expect("digest");
            // Same folder, same trail, a timestamp 30 minutes earlier.
            let end = crate::layout::digest_key_time(&d[mid]).unwrap_or(chain.end);
            let moved = chain.location.digest_key(
                ACCOUNT,
                REGION,
                &chain.trail,
                end - Duration::minutes(30),
            );
            s.remove(BUCKET, &d[mid]);
            s.overwrite(BUCKET, &moved, obj.body, obj.metadata);
            vec![
                (d[mid].clone(), "not found"),
                (moved, "has been moved from its original location"),
            ]
        }
        Tamper::MetadataStripped => {
            let obj = s.get(BUCKET, &d[mid]).await.expect("digest");
            s.overwrite(BUCKET, &d[mid], obj.body, HashMap::new());
            vec![(d[mid].clone(), "signature verification failed")]
        }
        Tamper::LogNotListed => {
            let t = crate::layout::digest_key_time(&d[mid]).unwrap_or(chain.end)
                - Duration::minutes(30);
            let extra = chain
                .location
                .log_key(ACCOUNT, REGION, t, "InjectedLogFile1");
            s.set_now(Some(t));
            s.overwrite(
                BUCKET,
                &extra,
                gz::compress(br#"{"Records":[]}"#, 6),
                HashMap::new(),
            );
            s.set_now(None);
            vec![(extra, "not listed in any valid digest")]
        }
        Tamper::BrokenPreviousHashLink => {
            resign(chain, &d[mid], signing_key, false, |x| {
                x.previous_digest_hash_value = Some("0".repeat(64));
            })
            .await;
            vec![
                (d[mid].clone(), "previousDigestHashValue does not match"),
                (d[mid + 1].clone(), "previousDigestHashValue does not match"),
            ]
        }
        Tamper::WeakHashSignature => {
            resign(chain, &d[mid], signing_key, true, |_| {}).await;
            let mut f = vec![(d[mid].clone(), "signature verification failed")];
            f.extend(
                chain.logs[mid]
                    .iter()
                    .map(|l| (l.clone(), "not listed in any valid digest")),
            );
            f
        }
        Tamper::SignedByAnotherKey => {
            let fp = other_fingerprint(other_key);
            resign(chain, &d[mid], other_key, false, |x| {
                x.digest_public_key_fingerprint = fp;
            })
            .await;
            let mut f = vec![(d[mid].clone(), "public key not found")];
            f.extend(
                chain.logs[mid]
                    .iter()
                    .map(|l| (l.clone(), "not listed in any valid digest")),
            );
            f
        }
        Tamper::ForgedFingerprint => {
            resign(chain, &d[mid], other_key, false, |x| {
                x.log_files.truncate(1);
            })
            .await;
            let mut f = vec![(d[mid].clone(), "signature verification failed")];
            f.extend(
                chain.logs[mid]
                    .iter()
                    .map(|l| (l.clone(), "not listed in any valid digest")),
            );
            f
        }
    };
    Expected { findings }
}

/// The fingerprint CloudTrail would publish for a key (MD5 of its PKCS#1 DER).
pub fn other_fingerprint(key: &RsaPrivateKey) -> String {
    let der = key
        .to_public_key()
        .to_pkcs1_der()
        .map(|d| d.as_bytes().to_vec())
        .unwrap_or_default();
    hex::encode(Md5::digest(&der))
}

/// A minimal SHA-1 (FIPS 180-4), used only to forge weak signatures in tests.
mod sha1_small {
    pub fn digest(msg: &[u8]) -> [u8; 20] {
        let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
        let mut data = msg.to_vec();
        let bit_len = (msg.len() as u64).wrapping_mul(8);
        data.push(0x80);
        while data.len() % 64 != 56 {
            data.push(0);
        }
        data.extend_from_slice(&bit_len.to_be_bytes());
        for chunk in data.chunks(64) {
            let mut w = [0u32; 80];
            for i in 0..16 {
                w[i] = u32::from_be_bytes([
                    chunk[4 * i],
                    chunk[4 * i + 1],
                    chunk[4 * i + 2],
                    chunk[4 * i + 3],
                ]);
            }
            for i in 16..80 {
                w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
            }
            let (mut a, mut b, mut c, mut d, mut e) = (h[0], h[1], h[2], h[3], h[4]);
            for (i, wi) in w.iter().enumerate() {
                let (f, k) = match i {
                    0..=19 => ((b & c) | ((!b) & d), 0x5A827999),
                    20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                    40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                    _ => (b ^ c ^ d, 0xCA62C1D6),
                };
                let temp = a
                    .rotate_left(5)
                    .wrapping_add(f)
                    .wrapping_add(e)
                    .wrapping_add(k)
                    .wrapping_add(*wi);
                e = d;
                d = c;
                c = b.rotate_left(30);
                b = a;
                a = temp;
            }
            h[0] = h[0].wrapping_add(a);
            h[1] = h[1].wrapping_add(b);
            h[2] = h[2].wrapping_add(c);
            h[3] = h[3].wrapping_add(d);
            h[4] = h[4].wrapping_add(e);
        }
        let mut out = [0u8; 20];
        for (i, v) in h.iter().enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&v.to_be_bytes());
        }
        out
    }

    #[cfg(test)]
    #[test]
    fn known_vector() {
        assert_eq!(
            hex::encode(digest(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }
}

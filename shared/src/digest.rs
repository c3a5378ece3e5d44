//! CloudTrail digest files: the exact JSON layout, the data-to-sign string, and the hourly signing
//! workflow (one digest per account/region/hour, also for empty hours, chained, written only once).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use thiserror::Error;

use crate::gz;
use crate::layout::{
    check_account_id, check_region, digest_key_time, format_time, parse_time, LayoutError,
    TrailArn, TrailLocation,
};
use crate::signer::{Signer, SignerError};
use crate::store::{ObjectStore, Put, StoreError};

pub const SIGNATURE_ALGORITHM: &str = "SHA256withRSA";
pub const HASH_ALGORITHM: &str = "SHA-256";
/// How far back the signer looks for the previous digest and for late log files.
pub const DEFAULT_LOOKBACK_DAYS: i64 = 4;
/// At most this many missed hours are filled in one run.
pub const MAX_BACKFILL_HOURS: i64 = 96;

/// One log file entry of a digest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DigestLogFile {
    #[serde(rename = "s3Bucket")]
    pub s3_bucket: String,
    #[serde(rename = "s3Object")]
    pub s3_object: String,
    #[serde(rename = "hashValue")]
    pub hash_value: String,
    #[serde(rename = "hashAlgorithm")]
    pub hash_algorithm: String,
    #[serde(rename = "newestEventTime")]
    pub newest_event_time: Option<String>,
    #[serde(rename = "oldestEventTime")]
    pub oldest_event_time: Option<String>,
}

/// A digest file's JSON, fields in CloudTrail's order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DigestFile {
    #[serde(rename = "awsAccountId")]
    pub aws_account_id: String,
    #[serde(rename = "digestStartTime")]
    pub digest_start_time: String,
    #[serde(rename = "digestEndTime")]
    pub digest_end_time: String,
    #[serde(rename = "digestS3Bucket")]
    pub digest_s3_bucket: String,
    #[serde(rename = "digestS3Object")]
    pub digest_s3_object: String,
    #[serde(rename = "digestPublicKeyFingerprint")]
    pub digest_public_key_fingerprint: String,
    #[serde(rename = "digestSignatureAlgorithm")]
    pub digest_signature_algorithm: String,
    #[serde(rename = "newestEventTime")]
    pub newest_event_time: Option<String>,
    #[serde(rename = "oldestEventTime")]
    pub oldest_event_time: Option<String>,
    #[serde(rename = "previousDigestS3Bucket")]
    pub previous_digest_s3_bucket: Option<String>,
    #[serde(rename = "previousDigestS3Object")]
    pub previous_digest_s3_object: Option<String>,
    #[serde(rename = "previousDigestHashValue")]
    pub previous_digest_hash_value: Option<String>,
    #[serde(rename = "previousDigestHashAlgorithm")]
    pub previous_digest_hash_algorithm: Option<String>,
    #[serde(rename = "previousDigestSignature")]
    pub previous_digest_signature: Option<String>,
    #[serde(rename = "logFiles")]
    pub log_files: Vec<DigestLogFile>,
}

/// The string CloudTrail signs: end time, `bucket/key`, hex SHA-256 of the uncompressed digest,
/// previous signature (literal `null` for a starting digest), joined by `\n`.
pub fn data_to_sign(
    end_time: &str,
    bucket: &str,
    key: &str,
    uncompressed: &[u8],
    previous_signature: Option<&str>,
) -> String {
    format!(
        "{end_time}\n{bucket}/{key}\n{}\n{}",
        sha256_hex(uncompressed),
        previous_signature.unwrap_or("null")
    )
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The fields a digest must have (even when `null`) to be read at all, as the AWS CLI requires.
pub const REQUIRED_DIGEST_FIELDS: [&str; 7] = [
    "digestPublicKeyFingerprint",
    "digestS3Bucket",
    "digestS3Object",
    "previousDigestSignature",
    "digestEndTime",
    "digestStartTime",
    "logFiles",
];

/// Limit on a digest's decompressed size (a real digest lists at most a few thousand files).
pub const MAX_DIGEST_BYTES: u64 = 64 << 20;

/// Why a digest file's bytes could not be read as a digest.
#[derive(Debug, Error)]
pub enum DigestParseError {
    #[error("digest file is not readable gzip: {0}")]
    Gzip(#[from] gz::GzError),
    #[error("digest file is not JSON: {0}")]
    Json(String),
    #[error("digest file has no {0} field (every CloudTrail digest has it, null or not)")]
    MissingField(&'static str),
    #[error("digest file does not have CloudTrail's digest shape: {0}")]
    Shape(String),
}

/// Reads a digest's uncompressed JSON: it must be an object with every
/// [`REQUIRED_DIGEST_FIELDS`] member and CloudTrail's field types.
pub fn parse_digest_json(data: &[u8]) -> Result<DigestFile, DigestParseError> {
    let value: serde_json::Value =
        serde_json::from_slice(data).map_err(|e| DigestParseError::Json(e.to_string()))?;
    if !value.is_object() {
        return Err(DigestParseError::Shape("not a JSON object".into()));
    }
    if let Some(k) = REQUIRED_DIGEST_FIELDS
        .iter()
        .find(|k| value.get(**k).is_none())
    {
        return Err(DigestParseError::MissingField(k));
    }
    serde_json::from_value(value).map_err(|e| DigestParseError::Shape(e.to_string()))
}

/// Reads a delivered digest file (gzip, at most `max` bytes decompressed): the digest and its
/// uncompressed bytes (which are what is hashed and signed).
pub fn parse_digest(gzipped: &[u8], max: u64) -> Result<(DigestFile, Vec<u8>), DigestParseError> {
    let data = gz::decompress(gzipped, max)?;
    let digest = parse_digest_json(&data)?;
    Ok((digest, data))
}

#[derive(Debug, Error)]
pub enum DigestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Signer(#[from] SignerError),
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("log file s3://{bucket}/{key} cannot be listed in a digest: {reason}")]
    BadLogFile {
        bucket: String,
        key: String,
        reason: String,
    },
    #[error("previous digest s3://{bucket}/{key} is unusable ({reason}); starting a new chain would hide tampering, so signing stops here")]
    BadPrevious {
        bucket: String,
        key: String,
        reason: String,
    },
}

/// What one signing run wrote (or found already written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedDigest {
    pub account_id: String,
    pub region: String,
    pub key: String,
    pub end_time: DateTime<Utc>,
    pub log_files: usize,
    /// False when another invocation had already written this hour's digest.
    pub created: bool,
    /// True when this digest starts a new chain (no previous digest found).
    pub chain_start: bool,
}

/// Settings of the signer.
#[derive(Debug, Clone)]
pub struct SignerConfig {
    pub location: TrailLocation,
    pub trail: TrailArn,
    pub lookback_days: i64,
    /// Decompression limit for log files being hashed.
    pub max_log_bytes: u64,
}

impl SignerConfig {
    pub fn new(location: TrailLocation, trail: TrailArn) -> Self {
        Self {
            location,
            trail,
            lookback_days: DEFAULT_LOOKBACK_DAYS,
            max_log_bytes: gz::DEFAULT_MAX_DECOMPRESSED,
        }
    }
}

/// The hour boundary a schedule time stands for (`13:00:05` → `13:00:00`).
pub fn hour_end(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::hours(1)).unwrap_or(t)
}

/// Every (account, region) with a log or digest folder under the trail's location.
pub async fn discover_account_regions(
    store: &dyn ObjectStore,
    loc: &TrailLocation,
) -> Result<Vec<(String, String)>, StoreError> {
    let root = loc.awslogs_root();
    let mut out = BTreeSet::new();
    for acct_dir in store.list_dirs(&loc.bucket, &root).await? {
        let account = acct_dir[root.len()..].trim_end_matches('/').to_string();
        if check_account_id(&account).is_err() {
            continue;
        }
        for kind in ["CloudTrail/", "CloudTrail-Digest/"] {
            let p = format!("{acct_dir}{kind}");
            for region_dir in store.list_dirs(&loc.bucket, &p).await? {
                let region = region_dir[p.len()..].trim_end_matches('/').to_string();
                if check_region(&region).is_ok() {
                    out.insert((account.clone(), region));
                }
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// Signs the digests for the hour ending at `end` for every account and region of the trail,
/// filling any missed hours since each chain's last digest first.
pub async fn sign_all(
    store: &dyn ObjectStore,
    signer: &dyn Signer,
    cfg: &SignerConfig,
    end: DateTime<Utc>,
) -> Result<Vec<SignedDigest>, DigestError> {
    let mut out = Vec::new();
    for (account, region) in discover_account_regions(store, &cfg.location).await? {
        out.extend(sign_chain(store, signer, cfg, &account, &region, end).await?);
    }
    Ok(out)
}

struct Previous {
    key: String,
    end: DateTime<Utc>,
    hash: String,
    signature: String,
}

/// Brings one account/region chain up to the hour ending at `end`.
pub async fn sign_chain(
    store: &dyn ObjectStore,
    signer: &dyn Signer,
    cfg: &SignerConfig,
    account: &str,
    region: &str,
    end: DateTime<Utc>,
) -> Result<Vec<SignedDigest>, DigestError> {
    check_account_id(account)?;
    check_region(region)?;
    let end = hour_end(end);
    let mut previous = find_previous(store, cfg, account, region, end).await?;
    let mut hours = Vec::new();
    match &previous {
        Some(p) if p.end >= end => {
            // Already signed up to (or past) this hour.
            let key = cfg.location.digest_key(account, region, &cfg.trail, end);
            let exists = store.get(&cfg.location.bucket, &key).await.is_ok();
            if exists {
                return Ok(vec![SignedDigest {
                    account_id: account.into(),
                    region: region.into(),
                    key,
                    end_time: end,
                    log_files: 0,
                    created: false,
                    chain_start: false,
                }]);
            }
            return Ok(Vec::new());
        }
        Some(p) => {
            let first =
                (p.end + Duration::hours(1)).max(end - Duration::hours(MAX_BACKFILL_HOURS - 1));
            let mut t = hour_end(first);
            while t <= end {
                hours.push(t);
                t += Duration::hours(1);
            }
        }
        None => hours.push(end),
    }
    let mut out = Vec::new();
    for h in hours {
        let start = match &previous {
            Some(p) if p.end < h => p.end.max(h - Duration::hours(1)),
            _ => h - Duration::hours(1),
        };
        let signed = sign_one(
            store,
            signer,
            cfg,
            account,
            region,
            start,
            h,
            previous.as_ref(),
        )
        .await?;
        previous = Some(read_previous(store, cfg, &signed.key).await?);
        out.push(signed);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn sign_one(
    store: &dyn ObjectStore,
    signer: &dyn Signer,
    cfg: &SignerConfig,
    account: &str,
    region: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    previous: Option<&Previous>,
) -> Result<SignedDigest, DigestError> {
    let bucket = &cfg.location.bucket;
    let key = cfg.location.digest_key(account, region, &cfg.trail, end);
    // Log files delivered (written) in [start, end): found by their write time, looking back
    // through the date folders a late delivery may have used.
    let region_prefix = cfg.location.log_region_prefix(account, region);
    let mut logs = Vec::new();
    let mut day = end - Duration::days(cfg.lookback_days);
    while day.date_naive() <= end.date_naive() {
        let folder = TrailLocation::day_folder(&region_prefix, day);
        for l in store.list(bucket, &folder, None).await? {
            if !l.key.ends_with(".json.gz") {
                continue;
            }
            let Some(modified) = l.last_modified else {
                continue;
            };
            if modified >= start && modified < end {
                logs.push(l.key);
            }
        }
        day += Duration::days(1);
    }
    logs.sort();
    let mut entries = Vec::with_capacity(logs.len());
    let (mut newest, mut oldest): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = (None, None);
    for k in logs {
        let (entry, n, o) = hash_log_file(store, bucket, &k, cfg.max_log_bytes).await?;
        newest = newest.max(n).or(n);
        oldest = match (oldest, o) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        entries.push(entry);
    }
    let public = signer.public_key().await?;
    let digest = DigestFile {
        aws_account_id: account.into(),
        digest_start_time: format_time(start),
        digest_end_time: format_time(end),
        digest_s3_bucket: bucket.clone(),
        digest_s3_object: key.clone(),
        digest_public_key_fingerprint: public.fingerprint.clone(),
        digest_signature_algorithm: SIGNATURE_ALGORITHM.into(),
        newest_event_time: newest.map(format_time),
        oldest_event_time: oldest.map(format_time),
        previous_digest_s3_bucket: previous.map(|_| bucket.clone()),
        previous_digest_s3_object: previous.map(|p| p.key.clone()),
        previous_digest_hash_value: previous.map(|p| p.hash.clone()),
        previous_digest_hash_algorithm: previous.map(|_| HASH_ALGORITHM.into()),
        previous_digest_signature: previous.map(|p| p.signature.clone()),
        log_files: entries,
    };
    let json = serde_json::to_vec(&digest).map_err(|e| SignerError::Sign(e.to_string()))?;
    let to_sign = data_to_sign(
        &digest.digest_end_time,
        bucket,
        &key,
        &json,
        digest.previous_digest_signature.as_deref(),
    );
    let signature = signer.sign(to_sign.as_bytes()).await?;
    let put = Put {
        body: gz::compress(&json, 6),
        metadata: vec![
            ("signature".into(), hex::encode(&signature)),
            ("signature-algorithm".into(), SIGNATURE_ALGORITHM.into()),
        ],
        content_type: Some("application/json".into()),
        content_encoding: None,
        if_none_match: true,
        if_match: None,
    };
    let created = match store.put(bucket, &key, put).await {
        Ok(_) => true,
        // A concurrent or repeated invocation won: its digest stands and the chain continues
        // from it, so nothing forks.
        Err(StoreError::AlreadyExists { .. }) | Err(StoreError::Conflict { .. }) => false,
        Err(e) => return Err(e.into()),
    };
    Ok(SignedDigest {
        account_id: account.into(),
        region: region.into(),
        key,
        end_time: end,
        log_files: digest.log_files.len(),
        created,
        chain_start: previous.is_none(),
    })
}

/// Hashes one log file's uncompressed bytes and reads its event time range.
pub async fn hash_log_file(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    max: u64,
) -> Result<(DigestLogFile, Option<DateTime<Utc>>, Option<DateTime<Utc>>), DigestError> {
    let obj = store.get(bucket, key).await?;
    let bad = |reason: String| DigestError::BadLogFile {
        bucket: bucket.into(),
        key: key.into(),
        reason,
    };
    let data = gz::decompress(&obj.body, max).map_err(|e| bad(e.to_string()))?;
    let (newest, oldest) = event_time_range(&data);
    Ok((
        DigestLogFile {
            s3_bucket: bucket.into(),
            s3_object: key.into(),
            hash_value: sha256_hex(&data),
            hash_algorithm: HASH_ALGORITHM.into(),
            newest_event_time: newest.map(format_time),
            oldest_event_time: oldest.map(format_time),
        },
        newest,
        oldest,
    ))
}

/// Newest and oldest `eventTime` of a `{"Records":[...]}` document (None for unreadable ones).
pub fn event_time_range(data: &[u8]) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    #[derive(Deserialize)]
    struct T<'a> {
        #[serde(rename = "eventTime", borrow)]
        event_time: Option<std::borrow::Cow<'a, str>>,
    }
    #[derive(Deserialize)]
    struct F<'a> {
        #[serde(rename = "Records", borrow)]
        records: Vec<T<'a>>,
    }
    let Ok(f) = serde_json::from_slice::<F>(data) else {
        return (None, None);
    };
    let times = f
        .records
        .iter()
        .filter_map(|r| r.event_time.as_deref().and_then(parse_time));
    let mut newest = None;
    let mut oldest = None;
    for t in times {
        newest = Some(newest.map_or(t, |n: DateTime<Utc>| n.max(t)));
        oldest = Some(oldest.map_or(t, |o: DateTime<Utc>| o.min(t)));
    }
    (newest, oldest)
}

async fn find_previous(
    store: &dyn ObjectStore,
    cfg: &SignerConfig,
    account: &str,
    region: &str,
    end: DateTime<Utc>,
) -> Result<Option<Previous>, DigestError> {
    let prefix = cfg.location.digest_region_prefix(account, region);
    let suffix_tag = format!(
        "{account}_CloudTrail-Digest_{region}_{}_{}_",
        cfg.trail.name, cfg.trail.home_region
    );
    let mut best: Option<(DateTime<Utc>, String)> = None;
    let mut day = end - Duration::days(cfg.lookback_days);
    // Newest digest at or before `end` (a digest for `end` itself means this hour is done).
    while day.date_naive() <= end.date_naive() {
        let folder = TrailLocation::day_folder(&prefix, day);
        for l in store.list(&cfg.location.bucket, &folder, None).await? {
            let name = l.key.rsplit('/').next().unwrap_or("");
            if !name.starts_with(&suffix_tag) || l.key.ends_with("_backfill.json.gz") {
                continue;
            }
            if let Some(t) = digest_key_time(&l.key) {
                if t <= end && best.as_ref().is_none_or(|(bt, _)| t > *bt) {
                    best = Some((t, l.key));
                }
            }
        }
        day += Duration::days(1);
    }
    match best {
        Some((_, key)) => Ok(Some(read_previous(store, cfg, &key).await?)),
        None => Ok(None),
    }
}

async fn read_previous(
    store: &dyn ObjectStore,
    cfg: &SignerConfig,
    key: &str,
) -> Result<Previous, DigestError> {
    let bucket = &cfg.location.bucket;
    let bad = |reason: String| DigestError::BadPrevious {
        bucket: bucket.clone(),
        key: key.into(),
        reason,
    };
    let obj = store.get(bucket, key).await?;
    let (d, data) = parse_digest(&obj.body, MAX_DIGEST_BYTES).map_err(|e| bad(e.to_string()))?;
    let signature = obj
        .metadata
        .get("signature")
        .cloned()
        .ok_or_else(|| bad("no signature metadata".into()))?;
    let end = parse_time(&d.digest_end_time).ok_or_else(|| bad("bad digestEndTime".into()))?;
    Ok(Previous {
        key: key.into(),
        end,
        hash: sha256_hex(&data),
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_digest_reads_the_kits_digests_and_names_what_is_wrong() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/integrity/synthetic-awscli-validated/ct-bucket/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/05/01"
        );
        let path = format!(
            "{dir}/111122223333_CloudTrail-Digest_us-east-1_my-trail_us-east-1_20240501T120000Z.json.gz"
        );
        let gzipped = std::fs::read(path).unwrap();
        let (d, raw) = parse_digest(&gzipped, MAX_DIGEST_BYTES).unwrap();
        assert_eq!(d.aws_account_id, "111122223333");
        assert_eq!(parse_digest_json(&raw).unwrap(), d);
        // Serialising and parsing again gives the same digest.
        let again = serde_json::to_vec(&d).unwrap();
        assert_eq!(parse_digest_json(&again).unwrap(), d);

        assert!(matches!(
            parse_digest(b"{}", MAX_DIGEST_BYTES),
            Err(DigestParseError::Gzip(_))
        ));
        assert!(matches!(
            parse_digest(&gzipped, 100),
            Err(DigestParseError::Gzip(gz::GzError::TooLarge(100)))
        ));
        assert!(matches!(
            parse_digest_json(b"{"),
            Err(DigestParseError::Json(_))
        ));
        assert!(matches!(
            parse_digest_json(b"[]"),
            Err(DigestParseError::Shape(_))
        ));
        let mut v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        v.as_object_mut().unwrap().remove("logFiles");
        let e = parse_digest_json(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(matches!(e, DigestParseError::MissingField("logFiles")));
        assert!(e.to_string().contains("no logFiles field"), "{e}");
        v["logFiles"] = serde_json::json!("not a list");
        let e = parse_digest_json(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(matches!(e, DigestParseError::Shape(_)), "{e}");
    }

    #[test]
    fn awscli_vector() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/integrity/awscli-string-to-sign-vector.json"
        );
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let got = data_to_sign(
            v["digest_data"]["digestEndTime"].as_str().unwrap(),
            v["digest_data"]["digestS3Bucket"].as_str().unwrap(),
            v["digest_data"]["digestS3Object"].as_str().unwrap(),
            v["inflated_digest_utf8"].as_str().unwrap().as_bytes(),
            None,
        );
        assert_eq!(got, v["expected_string_to_sign"].as_str().unwrap());
    }
}

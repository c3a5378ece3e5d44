//! deliver, sign-digest and validate-logs.

use std::io::{IsTerminal, Read, Write};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::Args;
use trailwarden::aws::s3::{S3Store, Sse};
use trailwarden::delivery::{deliver_batch, DeliveryConfig, Message, Selection};
use trailwarden::digest::{sign_all, SignerConfig};
use trailwarden::layout::{parse_time, TrailArn, TrailLocation};
use trailwarden::signer::{read_public_keys, LocalSigner, Signer};
use trailwarden::store::{DirStore, ObjectStore};
use trailwarden::validate::{validate, ValidateRequest};

pub type CliResult = Result<u8, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Args)]
pub struct DeliverArgs {
    #[arg(long)]
    s3_bucket: String,
    #[arg(long)]
    s3_prefix: Option<String>,
    #[arg(long)]
    organization_id: Option<String>,
    /// KMS key for SSE-KMS (default SSE-S3).
    #[arg(long)]
    sse_kms_key_id: Option<String>,
    /// CloudTrail log files (.json or .json.gz with Records), JSON arrays, NDJSON or EventBridge
    /// events; `-` reads standard input.
    #[arg(required = true)]
    files: Vec<String>,
}

fn read_input(path: &str) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    let data = if path == "-" {
        let mut v = Vec::new();
        std::io::stdin().read_to_end(&mut v)?;
        v
    } else {
        std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?
    };
    if trailwarden::gz::is_gzip(&data) {
        return Ok(
            trailwarden::gz::decompress(&data, trailwarden::gz::DEFAULT_MAX_DECOMPRESSED)
                .map_err(|e| format!("{path}: {e}"))?,
        );
    }
    Ok(data)
}

/// Splits an input into messages: a JSON document is one message; otherwise one per line (NDJSON).
fn to_messages(
    path: &str,
    data: Vec<u8>,
) -> Result<Vec<Message>, Box<dyn std::error::Error + Send + Sync>> {
    let text = String::from_utf8(data).map_err(|_| format!("{path}: not UTF-8 text"))?;
    let id_base = trailwarden::digest::sha256_hex(text.as_bytes());
    if serde_json::from_str::<&serde_json::value::RawValue>(&text).is_ok() {
        return Ok(vec![Message {
            id: id_base,
            body: text,
            sent: None,
        }]);
    }
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| Message {
            id: format!("{id_base}-{i:08}"),
            body: l.to_string(),
            sent: None,
        })
        .collect())
}

pub async fn deliver(a: DeliverArgs) -> CliResult {
    let location = TrailLocation::new(
        &a.s3_bucket,
        a.s3_prefix.as_deref(),
        a.organization_id.as_deref(),
    )?;
    let mut cfg = DeliveryConfig::new(location);
    cfg.selection = Selection::from_env_with(&trailwarden::telemetry::env)?;
    let sse = a.sse_kms_key_id.clone().map(Sse::Kms).unwrap_or(Sse::S3);
    let store = S3Store::from_env(sse).await;
    let mut failed = false;
    let stdout = std::io::stdout();
    for path in &a.files {
        let msgs = to_messages(path, read_input(path)?)?;
        let report = deliver_batch(&store, &cfg, &msgs, Utc::now()).await;
        let mut out = stdout.lock();
        for f in &report.files {
            writeln!(out, "{}", f.key)?;
        }
        for q in &report.quarantined {
            eprintln!(
                "{path}: input quarantined at s3://{}/{}: {}",
                a.s3_bucket,
                q.key,
                q.reasons.join("; ")
            );
        }
        if !report.failed_message_ids.is_empty() {
            eprintln!("{path}: {} file(s) could not be written; run again to retry (writes are idempotent)", report.failed_message_ids.len());
            failed = true;
        }
    }
    Ok(if failed { 1 } else { 0 })
}

/// Where the signing key is: a PEM file or a KMS key.
#[derive(Args)]
pub struct KeyArgs {
    /// PEM private key (PKCS#1 or PKCS#8).
    #[arg(
        long,
        conflicts_with = "kms_key_id",
        required_unless_present = "kms_key_id"
    )]
    private_key: Option<String>,
    /// KMS key (RSA_2048, SIGN_VERIFY).
    #[arg(long)]
    kms_key_id: Option<String>,
}

impl KeyArgs {
    async fn signer(&self) -> Result<Box<dyn Signer>, Box<dyn std::error::Error + Send + Sync>> {
        match (&self.private_key, &self.kms_key_id) {
            (Some(p), _) => {
                let pem =
                    std::fs::read_to_string(p).map_err(|e| format!("cannot read {p}: {e}"))?;
                Ok(Box::new(LocalSigner::from_pem(&pem)?))
            }
            (None, Some(k)) => Ok(Box::new(
                trailwarden::aws::kms::KmsSigner::from_env(k.clone()).await,
            )),
            (None, None) => Err("--private-key or --kms-key-id is required".into()),
        }
    }
}

#[derive(Args)]
pub struct SignArgs {
    #[arg(long)]
    s3_bucket: String,
    #[arg(long)]
    s3_prefix: Option<String>,
    #[arg(long)]
    organization_id: Option<String>,
    #[arg(long)]
    trail_arn: String,
    #[command(flatten)]
    key: KeyArgs,
    /// End of the hour to sign (default: now, truncated to the hour).
    #[arg(long)]
    end_time: Option<String>,
}

pub(crate) fn time_arg(s: &str) -> Result<DateTime<Utc>, String> {
    parse_time(s)
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc())
        })
        .ok_or_else(|| format!("{s:?} is not a time (use 2024-05-01T13:00:00Z)"))
}

pub async fn sign_digest(a: SignArgs) -> CliResult {
    let location = TrailLocation::new(
        &a.s3_bucket,
        a.s3_prefix.as_deref(),
        a.organization_id.as_deref(),
    )?;
    let trail = TrailArn::parse(&a.trail_arn)?;
    let end = match &a.end_time {
        Some(t) => time_arg(t)?,
        None => Utc::now(),
    };
    let signer = a.key.signer().await?;
    let store = S3Store::from_env(Sse::S3).await;
    let signed = sign_all(
        &store,
        signer.as_ref(),
        &SignerConfig::new(location, trail),
        end,
    )
    .await?;
    for s in signed {
        println!("{}", s.key);
    }
    Ok(0)
}

#[derive(Args)]
pub struct ValidateArgs {
    #[arg(long)]
    trail_arn: String,
    #[arg(long)]
    start_time: String,
    #[arg(long)]
    end_time: Option<String>,
    #[arg(long)]
    s3_bucket: String,
    #[arg(long)]
    s3_prefix: Option<String>,
    #[arg(long)]
    account_id: Option<String>,
    /// Organization id of an organization trail.
    #[arg(long)]
    organization_id: Option<String>,
    /// The source region whose logs to validate (default: the trail's home region).
    #[arg(long)]
    region: Option<String>,
    #[arg(long)]
    verbose: bool,
    /// Public key: PEM or DER, PKCS#1 or SubjectPublicKeyInfo, or CloudTrail ListPublicKeys JSON.
    #[arg(long = "public-key", required_unless_present = "kms_key_id")]
    public_key: Vec<String>,
    /// Read the public key from this KMS key.
    #[arg(long)]
    kms_key_id: Option<String>,
    /// Validate a bucket mirrored on disk (`<DIR>/<bucket>/<key>`, metadata in `<key>.metadata.json`).
    #[arg(long)]
    local_dir: Option<String>,
    /// Files fetched and hashed at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Print the report as JSON instead of validate-logs' text.
    #[arg(long)]
    json: bool,
}

pub async fn validate_logs(a: ValidateArgs) -> CliResult {
    let trail = TrailArn::parse(&a.trail_arn)?;
    let start = time_arg(&a.start_time)?;
    let end = match &a.end_time {
        Some(t) => time_arg(t)?,
        None => Utc::now(),
    };
    if start > end {
        return Err("Invalid time range specified: start-time must occur before end-time".into());
    }
    let mut keys = Vec::new();
    for p in &a.public_key {
        keys.extend(read_public_keys(
            &std::fs::read(p).map_err(|e| format!("cannot read {p}: {e}"))?,
        )?);
    }
    if let Some(k) = &a.kms_key_id {
        keys.push(
            trailwarden::aws::kms::KmsSigner::from_env(k.clone())
                .await
                .public_key()
                .await?,
        );
    }
    let location = TrailLocation::new(
        &a.s3_bucket,
        a.s3_prefix.as_deref(),
        a.organization_id.as_deref(),
    )?;
    let mut req = ValidateRequest::new(trail, location, start, end, keys);
    if let Some(acct) = &a.account_id {
        req.account_id = trailwarden::layout::check_account_id(acct)?.to_string();
    }
    if let Some(r) = &a.region {
        req.source_region = trailwarden::layout::check_region(r)?.to_string();
    }
    req.concurrency = a.concurrency.max(1);
    if std::io::stderr().is_terminal() && !a.json {
        req.progress = Some(Arc::new(crate::progress::draw));
    }
    let store: Box<dyn ObjectStore> = match &a.local_dir {
        Some(d) => Box::new(DirStore::new(d)),
        None => Box::new(S3Store::for_validation_from_env().await),
    };
    let report = validate(store.as_ref(), &req).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let (out, err) = report.render(a.verbose);
        eprint!("{err}");
        print!("{out}");
    }
    Ok(report.exit_code() as u8)
}

#[derive(Args)]
pub struct PublicKeyArgs {
    #[command(flatten)]
    key: KeyArgs,
}

pub async fn public_key(a: PublicKeyArgs) -> CliResult {
    let key = a.key.signer().await?.public_key().await?;
    let doc = serde_json::json!({
        "PublicKeyList": [{
            "Fingerprint": key.fingerprint,
            "Value": key.pkcs1_base64(),
        }]
    });
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(0)
}

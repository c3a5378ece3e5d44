//! Delivery CPU per record, from SQS message bodies to gzip bytes ready to upload, against
//! gzip-compressing the same bytes alone at the same level; and peak RSS of the process.
//!
//! `cargo run --release -p trailwarden-bench --bin delivery -- [KIT_DIR] [MESSAGES_PER_BATCH] [BATCHES]`
//! Messages are EventBridge events wrapping records resampled (seeded) from the kit's real
//! CloudTrail records.

use chrono::Utc;
use trailwarden::delivery::{parse_messages, prepare_files, DeliveryConfig, Message};
use trailwarden::layout::TrailLocation;
use trailwarden_bench::{cpu_seconds, kit_records, peak_rss_kib, Rng};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kit = std::path::PathBuf::from(args.get(1).cloned().unwrap_or_else(|| "../shared".into()));
    let per_batch: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let batches: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10);
    let records = kit_records(&kit);
    assert!(!records.is_empty(), "no records under {}", kit.display());
    let mut rng = Rng::new(7);
    let make_batch = |rng: &mut Rng, b: usize| -> Vec<Message> {
        (0..per_batch)
            .map(|i| {
                let r = &records[rng.below(records.len())];
                let body = serde_json::json!({"version":"0","id":format!("e-{b}-{i}"),"detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","account":r["recipientAccountId"],"time":r["eventTime"],"region":r["awsRegion"],"resources":[],"detail":r}).to_string();
                Message { id: format!("m-{b}-{i:06}"), body, sent: Some(Utc::now()) }
            })
            .collect()
    };
    let cfg =
        DeliveryConfig::new(TrailLocation::new("bench-bucket", None, None).expect("location"));
    let mut deliver_cpu = 0.0;
    let mut gzip_cpu = 0.0;
    let mut n_records = 0usize;
    let mut bytes = 0usize;
    for b in 0..batches {
        let msgs = make_batch(&mut rng, b);
        let t0 = cpu_seconds();
        let parsed = parse_messages(&msgs);
        let (files, _) = prepare_files(&cfg, &msgs, &parsed);
        deliver_cpu += cpu_seconds() - t0;
        // The same bytes, compressed alone at the same level.
        let plain: Vec<Vec<u8>> = files
            .iter()
            .map(|f| trailwarden::gz::decompress(&f.gzip, u64::MAX).expect("gzip"))
            .collect();
        let t1 = cpu_seconds();
        let mut out = 0usize;
        for p in &plain {
            out += trailwarden::gz::compress(p, cfg.gzip_level).len();
        }
        gzip_cpu += cpu_seconds() - t1;
        assert!(out > 0);
        n_records += files.iter().map(|f| f.records).sum::<usize>();
        bytes += plain.iter().map(Vec::len).sum::<usize>();
    }
    println!(
        "{}",
        serde_json::json!({
            "records": n_records,
            "uncompressed_bytes": bytes,
            "delivery_cpu_seconds": deliver_cpu,
            "gzip_alone_cpu_seconds": gzip_cpu,
            "delivery_us_per_record": deliver_cpu * 1e6 / n_records as f64,
            "gzip_alone_us_per_record": gzip_cpu * 1e6 / n_records as f64,
            "ratio_to_gzip_alone": deliver_cpu / gzip_cpu,
            "peak_rss_kib": peak_rss_kib(),
        })
    );
}

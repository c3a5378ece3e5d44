//! The validation floor: gunzip + SHA-256 of every log file of a chain on disk, in-process, one
//! thread. `floor DIR` prints JSON with the CPU seconds. Files are read before timing starts.

use sha2::{Digest, Sha256};

fn main() {
    let dir = std::env::args().nth(1).expect("usage: floor DIR");
    let mut files = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(&dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().contains("/CloudTrail/")
                && p.to_string_lossy().ends_with(".json.gz")
            {
                files.push(std::fs::read(&p).expect("read"));
            }
        }
    }
    let compressed: usize = files.iter().map(Vec::len).sum();
    let t0 = trailwarden_bench::cpu_seconds();
    let mut total = 0u64;
    let mut digest = Vec::new();
    for f in &files {
        let mut h = Sha256::new();
        total += trailwarden::gz::decompress_with(f, u64::MAX, |c| h.update(c)).expect("gzip");
        digest = h.finalize().to_vec();
    }
    let cpu = trailwarden_bench::cpu_seconds() - t0;
    println!(
        "{}",
        serde_json::json!({"files": files.len(), "compressed_bytes": compressed, "uncompressed_bytes": total, "cpu_seconds": cpu, "last_hash": hex::encode(digest)})
    );
}

//! The 15 CIS filters over gzip CloudTrail log files, against gunzip alone.
//!
//! Builds a corpus like ../../../shared/bench/gen_chain.py's default (records resampled with a
//! fixed seed from the real invictus-ir records, 500 per file, gzip), then times:
//! gunzip alone; gunzip + `FilterSet::for_each_record` (one pass per file); gunzip + serde
//! RawValue split + `FilterSet::matches_into` per record. Run with
//! `cargo bench -p trailwarden-shared --bench filter_cis [-- FILES]` (default 288 files);
//! `-- FILES --scan-only` times single patterns, `-- FILES --repeat N` does fixed work (for
//! instruction counts under valgrind; `PATTERN` = patterns one per line, `CIS_ONLY` = indices),
//! `-- FILES --gunzip-repeat N` the same for gunzip alone, `-- FILES --jq` also times
//! `jq -n -f /work/shared/bench/cis.jq` on NDJSON of the corpus and checks the counts agree.
//! Times are CPU times of the thread (the machine may be shared).

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use trailwarden::filter::{cis, FilterPattern, FilterSet, MatchSet, Scratch};

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Records")]
    records: Vec<Box<RawValue>>,
}

fn corpus(files: usize, per_file: usize) -> Vec<Vec<u8>> {
    let dir = std::path::Path::new("/work/shared/data/cloudtrail/invictus-ir");
    let mut pool = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for p in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
    {
        let env: Envelope = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        pool.extend(env.records.into_iter().map(|r| r.get().to_string()));
    }
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..files)
        .map(|_| {
            let mut text = String::from("{\"Records\":[");
            for i in 0..per_file {
                if i > 0 {
                    text.push(',');
                }
                text.push_str(&pool[(next() % pool.len() as u64) as usize]);
            }
            text.push_str("]}");
            let mut enc = GzEncoder::new(Vec::new(), Compression::default());
            enc.write_all(text.as_bytes()).unwrap();
            enc.finish().unwrap()
        })
        .collect()
}

/// CPU time of this thread (Linux: utime + stime from /proc/thread-self/stat, 10 ms ticks);
/// wall time elsewhere. The machine may be shared: CPU time is the stable figure.
fn cpu_now() -> Duration {
    std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
            Some(Duration::from_millis(ticks * 10))
        })
        .unwrap_or_else(|| {
            static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
            START.get_or_init(Instant::now).elapsed()
        })
}

/// Repeats `f` until it used at least 0.5 s of CPU; returns CPU time per call.
fn best_of<F: FnMut() -> usize>(_runs: usize, mut f: F) -> (Duration, usize) {
    let mut out = f();
    let t = cpu_now();
    let mut calls = 0u32;
    while cpu_now() - t < Duration::from_millis(500) {
        out = f();
        calls += 1;
    }
    ((cpu_now() - t) / calls.max(1), out)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let files: usize = args
        .iter()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(288);
    let gz = corpus(files, 500);
    let gz_bytes: usize = gz.iter().map(Vec::len).sum();
    let set = cis::filter_set();
    let mut scratch = Scratch::default();
    let plain: Vec<Vec<u8>> = gz
        .iter()
        .map(|f| {
            let mut v = Vec::new();
            GzDecoder::new(&f[..]).read_to_end(&mut v).unwrap();
            v
        })
        .collect();
    let raw_bytes: usize = plain.iter().map(Vec::len).sum();

    if let Some(i) = args.iter().position(|a| a == "--gunzip-repeat") {
        let times: usize = args.get(i + 1).and_then(|a| a.parse().ok()).unwrap_or(10);
        let mut buf = Vec::with_capacity(2 << 20);
        let mut n = 0;
        for _ in 0..times {
            for f in &gz {
                buf.clear();
                GzDecoder::new(&f[..]).read_to_end(&mut buf).unwrap();
                n += buf.len();
            }
        }
        println!("{n} bytes");
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--repeat") {
        // fixed work, for instruction counting (valgrind --tool=cachegrind)
        let times: usize = args.get(i + 1).and_then(|a| a.parse().ok()).unwrap_or(10);
        // PATTERN: one pattern per line (default: the 15 CIS filters); CIS_ONLY: indices
        let set: FilterSet = match (std::env::var("PATTERN"), std::env::var("CIS_ONLY")) {
            (Ok(p), _) => p
                .lines()
                .map(|l| FilterPattern::parse(l).unwrap())
                .collect(),
            (_, Ok(ix)) => ix
                .split(',')
                .map(|i| cis::CIS_FILTERS[i.trim().parse::<usize>().unwrap()].compile())
                .collect(),
            _ => cis::filter_set(),
        };
        let mut n = 0;
        for _ in 0..times {
            for f in &plain {
                n += set.for_each_record(f, &mut scratch, |_, _, _| {}).unwrap();
            }
        }
        println!("{n} records");
        return;
    }
    if args.iter().any(|a| a == "--scan-only") {
        let mut pats: Vec<(String, FilterSet)> = vec![("CIS".to_string(), cis::filter_set())];
        for pat in [
            "\"\"",
            "{ $.zzz = X }",
            "{ $.zzz = X && $.userIdentity.zzz = 1 }",
            "{ $.eventName = X }",
            "{ $.userIdentity.type = X }",
            "{ $.eventName = \"ConsoleLogin\" && $.responseElements.ConsoleLogin = X }",
        ] {
            pats.push((
                pat.to_string(),
                [FilterPattern::parse(pat).unwrap()].into_iter().collect(),
            ));
        }
        for (name, one) in &pats {
            let (t, n) = best_of(1, || {
                let mut n = 0;
                for f in &plain {
                    n += one.for_each_record(f, &mut scratch, |_, _, _| {}).unwrap();
                }
                n
            });
            println!(
                "scan only {name}: {:.0} ns/record",
                t.as_nanos() as f64 / n as f64
            );
        }
        return;
    }

    let mut buf = Vec::with_capacity(2 << 20);
    let mut counts = [0usize; 15];
    let mut n_records = 0;
    // Alternate the two measurements (the machine may be shared) and keep the best round.
    let mut t_gunzip = Duration::MAX;
    let mut t_pass = Duration::MAX;
    for _round in 0..5 {
        let (t, _) = best_of(1, || {
            for f in &gz {
                buf.clear();
                GzDecoder::new(&f[..]).read_to_end(&mut buf).unwrap();
            }
            0
        });
        t_gunzip = t_gunzip.min(t);
        let (t, n) = best_of(1, || {
            counts = [0; 15];
            let mut n = 0;
            for f in &gz {
                buf.clear();
                GzDecoder::new(&f[..]).read_to_end(&mut buf).unwrap();
                n += set
                    .for_each_record(&buf, &mut scratch, |_, _, m| {
                        for i in m.iter() {
                            counts[i] += 1;
                        }
                    })
                    .unwrap();
            }
            n
        });
        t_pass = t_pass.min(t);
        n_records = n;
    }
    let (t_filters_only, _) = best_of(1, || {
        let mut n = 0;
        for f in &plain {
            n += set.for_each_record(f, &mut scratch, |_, _, _| {}).unwrap();
        }
        n
    });
    let mut m = MatchSet::default();
    let (t_serde, _) = best_of(1, || {
        let mut n = 0;
        for f in &gz {
            buf.clear();
            GzDecoder::new(&f[..]).read_to_end(&mut buf).unwrap();
            let env: Envelope = serde_json::from_slice(&buf).unwrap();
            for r in &env.records {
                set.matches_into(r.get().as_bytes(), &mut scratch, &mut m);
                n += m.count();
            }
        }
        n
    });
    let mb = raw_bytes as f64 / 1e6;
    let pct = |t: Duration| (t.as_secs_f64() / t_gunzip.as_secs_f64() - 1.0) * 100.0;
    println!(
        "corpus: {files} files, {n_records} records, {:.1} MB gzip, {mb:.1} MB JSON (CPU times)",
        gz_bytes as f64 / 1e6
    );
    println!(
        "gunzip alone:                         {:>8.1} ms ({:.0} MB/s)",
        t_gunzip.as_secs_f64() * 1e3,
        mb / t_gunzip.as_secs_f64()
    );
    println!(
        "gunzip + CIS for_each_record:         {:>8.1} ms (+{:.1}% over gunzip)",
        t_pass.as_secs_f64() * 1e3,
        pct(t_pass)
    );
    println!(
        "CIS for_each_record alone:            {:>8.1} ms ({:.0} MB/s, {:.0} ns/record)",
        t_filters_only.as_secs_f64() * 1e3,
        mb / t_filters_only.as_secs_f64(),
        t_filters_only.as_nanos() as f64 / n_records as f64
    );
    println!(
        "gunzip + serde split + matches_into:  {:>8.1} ms (+{:.1}% over gunzip)",
        t_serde.as_secs_f64() * 1e3,
        pct(t_serde)
    );
    println!("matches per filter: {counts:?}");
    if args.iter().any(|a| a == "--jq") {
        jq_compare(&plain, t_filters_only, &counts);
    }
}

/// Runs jq with cis.jq over NDJSON of the corpus: speed ratio and count agreement.
fn jq_compare(plain: &[Vec<u8>], ours: Duration, counts: &[usize; 15]) {
    let set = cis::filter_set();
    let mut scratch = Scratch::default();
    let path = std::env::temp_dir().join(format!("tw-cis-bench-{}.ndjson", std::process::id()));
    let mut out = Vec::new();
    for f in plain {
        set.for_each_record(f, &mut scratch, |_, r, _| {
            out.extend_from_slice(r);
            out.push(b'\n');
        })
        .unwrap();
    }
    std::fs::write(&path, &out).unwrap();
    let t = Instant::now();
    let res = std::process::Command::new("jq")
        .args(["-n", "-c", "-f", "/work/shared/bench/cis.jq"])
        .arg(&path)
        .output();
    let wall = t.elapsed();
    let _ = std::fs::remove_file(&path);
    let Ok(res) = res else {
        println!("jq: not available");
        return;
    };
    let v: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap_or_default();
    // jq's keys are "CW.1 RootAccountUsage", ...: compare by filter name
    let agree = v.as_object().is_some_and(|o| {
        cis::CIS_FILTERS.iter().enumerate().all(|(i, f)| {
            o.iter()
                .find(|(k, _)| k.rsplit(' ').next() == Some(f.name))
                .and_then(|(_, n)| n.as_u64())
                == Some(counts[i] as u64)
        })
    });
    println!(
        "jq cis.jq: {:.0} ms wall ({:.0}x the CPU time of for_each_record); per-filter counts {}",
        wall.as_secs_f64() * 1e3,
        wall.as_secs_f64() / ours.as_secs_f64(),
        if agree { "agree" } else { "DIFFER" }
    );
}

//! Replays every committed fuzz input through the same functions the cargo-fuzz targets call
//! (`trailwarden::fuzzing`): the minimised corpora (`fuzz/corpus/<target>/`) and every crash
//! reproducer (`fuzz/regressions/<target>/`). Runs on stable as part of `cargo test`; a
//! reproducer that panics again fails here with its file name.

use std::path::{Path, PathBuf};

use trailwarden::fuzzing::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep"))
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

fn replay(kind: &str) -> usize {
    let mut total = 0;
    let mut failures = Vec::new();
    for (target, run) in TARGETS {
        for file in inputs(kind, target) {
            let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            total += 1;
            if let Err(panic) = std::panic::catch_unwind(|| run(&data)) {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{target}: {}: {why}", file.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    total
}

#[test]
fn every_target_has_a_committed_corpus() {
    for (target, _) in TARGETS {
        let n = inputs("corpus", target).len();
        assert!(
            n > 0,
            "fuzz/corpus/{target}/ is empty: run scripts/fuzz.sh {target}"
        );
        assert!(
            fuzz_dir()
                .join("fuzz_targets")
                .join(format!("{target}.rs"))
                .is_file(),
            "no cargo-fuzz target for {target}"
        );
    }
}

#[test]
fn corpora_and_crash_reproducers_replay_without_panics() {
    // Every reproducer found by fuzzing (fuzz/regressions/) stays there after its fix.
    let n = replay("corpus") + replay("regressions");
    assert!(n >= TARGETS.len(), "only {n} committed inputs");
}

#[test]
fn committed_corpus_files_are_small() {
    for (target, _) in TARGETS {
        for f in inputs("corpus", target)
            .into_iter()
            .chain(inputs("regressions", target))
        {
            let len = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
            assert!(
                len <= 64 * 1024,
                "{} is {len} bytes (cap 64 KB)",
                f.display()
            );
        }
    }
}

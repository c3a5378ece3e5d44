#!/usr/bin/env bash
# Fuzzing: runs cargo-fuzz targets (fuzz/fuzz_targets/) for a given time each, one after the
# other, then minimises each corpus into fuzz/corpus/<target>/ (cargo fuzz cmin).
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS]      defaults: all targets, 600 s each
#
# Needs the nightly toolchain (cargo +nightly); installs cargo-fuzz from crates.io into
# $CACHE/tools if missing. Inputs: the committed corpus plus seeds made from real data by
# scripts/fuzz_seeds.py. A crash is copied to fuzz/regressions/<target>/ (which the stable test
# `cargo test -p trailwarden-shared --test fuzz_corpus` replays) and makes the script fail.
# libFuzzer's final statistics of every run are appended to $CACHE/fuzz-logs/summary.tsv.
. "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

ALL_TARGETS=(filter_pattern filter_match log_file digest config_item events)
which="${1:-all}"
secs="${2:-600}"
if [ "$which" = all ]; then targets=("${ALL_TARGETS[@]}"); else targets=("$which"); fi

TOOLS="$CACHE/tools"
export PATH="$TOOLS/bin:$PATH"
if ! command -v cargo-fuzz >/dev/null; then
  log "installing cargo-fuzz into $TOOLS"
  cargo install cargo-fuzz --locked --root "$TOOLS"
fi
FUZZ_TARGET_DIR="${FUZZ_TARGET_DIR:-$CARGO_TARGET_DIR/fuzz}"
# Committed corpus files are capped (the repository keeps a few MB of corpus); the larger real
# files come back as seeds on every run, so nothing they cover is lost to the next run.
COMMIT_MAX_BYTES="${COMMIT_MAX_BYTES:-4096}"
LOGS="$CACHE/fuzz-logs"
mkdir -p "$LOGS"
# -a: debug assertions (integer overflow is a crash too); AddressSanitizer is cargo-fuzz's default.
FUZZ=(nice -n 15 cargo +nightly fuzz)
FUZZ_OPTS=(-a --target-dir "$FUZZ_TARGET_DIR")

log "building the fuzz targets"
(cd fuzz && "${FUZZ[@]}" build "${FUZZ_OPTS[@]}")

failed=()
for t in "${targets[@]}"; do
  case "$t" in filter_*) dict=fuzz/dicts/filter.dict ;; *) dict=fuzz/dicts/json.dict ;; esac
  work="$CACHE/fuzz-work/$t"
  seeds="$CACHE/fuzz-seeds/$t"
  rm -rf "$work" "$seeds"
  mkdir -p "$work" "fuzz/corpus/$t" "fuzz/regressions/$t"
  cp -r "fuzz/corpus/$t/." "$work/"
  python3 scripts/fuzz_seeds.py "$t" "$seeds"
  log "fuzzing $t for $secs s ($(ls "$work" | wc -l) corpus files, $(ls "$seeds" | wc -l) seeds)"
  status=0
  (cd fuzz && "${FUZZ[@]}" run "${FUZZ_OPTS[@]}" "$t" "$work" "$seeds" -- \
      -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -dict="$REPO_ROOT/$dict" -print_final_stats=1) >"$LOGS/$t.log" 2>&1 || status=$?
  final=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$LOGS/$t.log" | tail -1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOGS/$t.log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$LOGS/$t.log")
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$LOGS/$t.log")
  cov=$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' <<<"$final")
  ft=$(sed -n 's/.* ft: \([0-9]*\) .*/\1/p' <<<"$final")
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    for a in fuzz/artifacts/"$t"/*; do
      [ -f "$a" ] && cp "$a" "fuzz/regressions/$t/"
    done
    log "$t FAILED (exit $status): see $LOGS/$t.log; reproducer(s) copied to fuzz/regressions/$t/"
    tail -40 "$LOGS/$t.log" >&2
  fi
  log "minimising the $t corpus"
  (cd fuzz && "${FUZZ[@]}" cmin "${FUZZ_OPTS[@]}" "$t" "$work" -- -max_len=65536 -rss_limit_mb=2048) \
      >"$LOGS/$t.cmin.log" 2>&1
  rm -rf "fuzz/corpus/$t"
  mkdir -p "fuzz/corpus/$t"
  find "$work" -maxdepth 1 -type f -size -$((COMMIT_MAX_BYTES + 1))c -exec cp {} "fuzz/corpus/$t/" \;
  files=$(ls "fuzz/corpus/$t" | wc -l)
  size=$(du -sk --apparent-size "fuzz/corpus/$t" | cut -f1)
  printf '%s\t%s\t%ss\t%s execs\t%s/s\tcov %s\tft %s\tcommitted corpus %s files %s KB\tpeak RSS %s MB\texit %s\n' \
    "$(date -u +%FT%TZ)" "$t" "$secs" "$execs" "$rate" "$cov" "$ft" "$files" "$size" "$rss" "$status" \
    | tee -a "$LOGS/summary.tsv"
done

if [ ${#failed[@]} -gt 0 ]; then
  log "crashes in: ${failed[*]}"
  exit 1
fi

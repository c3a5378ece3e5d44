#!/usr/bin/env bash
# Peak RSS of the metric-filter-alarm function (release) on one 50 MB (uncompressed) CloudTrail
# log file, served by a local moto_server, through a local Lambda Runtime API.
. "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"
ensure_python_tools
cargo build --release -p metric-filter-alarm -p trailwarden-bench
# The log file: the filter benchmark's seeded generator (records derived from the kit's real
# records), 42,000 records in one file.
DIR="${TMPDIR:-/tmp}/trailwarden-mfa-rss"
cargo bench -p trailwarden-shared --bench filter_cis -- --bench --generate-only --records 42000 --per-file 42000 --dir "$DIR"
MOTO_SERVER="$VENV/bin/moto_server" exec "$VENV/bin/python" "$REPO_ROOT/scripts/bench/metric_filter_rss.py" "$DIR/00000.json.gz"

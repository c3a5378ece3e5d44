#!/usr/bin/env bash
# Validation benchmark: trailwarden vs the AWS CLI vs the in-process floor (see BENCHMARKS.md).
. "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"
ensure_python_tools
cargo build --release --bin trailwarden -p trailwarden-cli
cargo build --release -p trailwarden-bench
exec "$VENV/bin/python" "$REPO_ROOT/scripts/bench/validate_bench.py"

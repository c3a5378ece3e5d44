#!/usr/bin/env bash
# Delivery benchmarks: CPU per record vs gzip alone; peak RSS of the function on a 10,000-message batch.
. "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"
ensure_python_tools
cargo build --release -p log-delivery -p trailwarden-bench
exec "$VENV/bin/python" "$REPO_ROOT/scripts/bench/delivery_bench.py"

#!/usr/bin/env bash
# Cold start and peak RSS of every function binary (release, stripped), each handling one sample
# event from events/ through a local Lambda Runtime API (benches/src/bin/lambda-host.rs) against
# moto_server. REPEAT (default 5) runs per function; medians reported.
. "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"
ensure_python_tools
cargo build --release -p trailwarden-bench --bin lambda-host \
  -p log-delivery -p digest-signer -p log-validator -p metric-filter-alarm -p config-rule-evaluator -p remediator
start_moto
exec "$VENV/bin/python" "$REPO_ROOT/scripts/bench/cold_start.py"

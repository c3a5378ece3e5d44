#!/usr/bin/env bash
# Cold start and peak RSS of every function binary (release, stripped), each handling one sample
# event from events/ through a local Lambda Runtime API (benches/src/bin/lambda-host.rs) against
# moto_server. REPEAT (default 5) runs per function; medians reported.
. "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"
ensure_python_tools
# Two commands: a `--bin` filter applies to every package of the command, so one command with
# `--bin lambda-host` would leave the functions' binaries as they were.
cargo build --release -p trailwarden-bench --bin lambda-host
cargo build --release -p log-delivery -p digest-signer -p log-validator -p metric-filter-alarm -p config-rule-evaluator -p remediator
start_moto
# Not exec: the EXIT trap set by start_moto must run to stop the emulator.
"$VENV/bin/python" "$REPO_ROOT/scripts/bench/cold_start.py"

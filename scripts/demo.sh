#!/usr/bin/env bash
# The main job: a local end-to-end run of the suite against the AWS emulator, showing what it did.
# Installs everything it needs on a fresh machine (Python tools into a cached virtualenv; the Rust
# workspace is built with cargo), starts moto_server and `cargo lambda watch` on free 127.0.0.1
# ports, and stops both when it ends.
. "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
ensure_python_tools
log "building the functions and the CLI (first build of the AWS SDK takes several minutes)"
cargo build --bins
start_moto
export TRAILWARDEN_BIN="$CARGO_TARGET_DIR/debug/trailwarden"
# Not exec: the EXIT trap set by start_moto must run to stop the emulator.
python3 -u "$REPO_ROOT/scripts/demo.py"

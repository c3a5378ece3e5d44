#!/usr/bin/env bash
# The test command: installs what the tests need (Python tools incl. the local AWS emulator, into a
# cached virtualenv) and runs every test of the workspace. `.ci/run` calls exactly this.
# Order: the template checks (cfn-lint, sam validate --lint, checkov) and formatting; then the
# release arm64 build of the six functions (with their sizes) runs in the background, in its own
# target directory, while cargo deny and every test run; its result is printed at the end. Run side by
# side, the two builds keep both cores busy (each compiles its largest crates, the SDK's, on one core).
. "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
ensure_python_tools
log "template checks (scripts/check_template.sh)"
"$REPO_ROOT/scripts/check_template.sh"
log "cargo fmt --check"
cargo fmt --all -- --check
LAMBDA_LOG="${TMPDIR:-/tmp}/trailwarden-lambda-build.log"
log "release arm64 build of the functions (scripts/build_lambdas.sh), in the background: $LAMBDA_LOG"
# In a session of its own, so that stopping it stops cargo and rustc with it.
setsid "$REPO_ROOT/scripts/build_lambdas.sh" >"$LAMBDA_LOG" 2>&1 &
build_pid=$!
# A test.sh that stops early (a failed check, Ctrl-C) does not leave the build running.
trap 'kill -- -"$build_pid" 2>/dev/null || kill "$build_pid" 2>/dev/null || true' EXIT
ensure_cargo_deny
log "cargo deny check licenses bans sources (advisories: the RustSec database cannot be fetched here; see SECURITY.md)"
cargo deny --all-features check licenses bans sources
log "cargo test (workspace; integration tests start their own moto_server on free 127.0.0.1 ports)"
set +e
cargo test --workspace --no-fail-fast 2>&1 | tee "${TMPDIR:-/tmp}/trailwarden-test.log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -E '^test result:' "${TMPDIR:-/tmp}/trailwarden-test.log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -E '^test result:' "${TMPDIR:-/tmp}/trailwarden-test.log" | awk '{s+=$6} END {print s+0}')
echo "$passed passed, $failed failed"
log "release arm64 build of the functions: waiting for it"
build_status=0
wait "$build_pid" || build_status=$?
trap - EXIT
grep -v '^ *Compiling ' "$LAMBDA_LOG" | tail -n 40
echo "arm64 build: exit $build_status"
if [ "$status" -ne 0 ]; then exit "$status"; fi
exit "$build_status"

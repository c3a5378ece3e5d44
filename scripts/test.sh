#!/usr/bin/env bash
# The test command: installs what the tests need (Python tools incl. the local AWS emulator, into a
# cached virtualenv) and runs every test of the workspace. `.ci/run` calls exactly this.
# Order: the template checks (cfn-lint, sam validate --lint, checkov), formatting, every test,
# then the release arm64 build of the six functions with their sizes.
. "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
ensure_python_tools
log "template checks (scripts/check_template.sh)"
"$REPO_ROOT/scripts/check_template.sh"
log "cargo fmt --check"
cargo fmt --all -- --check
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
log "release arm64 build of the functions (scripts/build_lambdas.sh)"
build_status=0
"$REPO_ROOT/scripts/build_lambdas.sh" || build_status=$?
if [ "$status" -ne 0 ]; then exit "$status"; fi
exit "$build_status"

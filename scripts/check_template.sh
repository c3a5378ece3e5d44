#!/usr/bin/env bash
# Checks template.yaml: cfn-lint, `sam validate --lint` and checkov, each with no error and no
# warning (checkov exceptions are `checkov:skip=` comments in the template, each with its
# reason). Installs the linters itself (scripts/requirements-lint.txt, own virtualenv). Offline:
# dummy credentials and region, SAM telemetry off; nothing here talks to AWS.
. "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
ensure_lint_tools
export SAM_CLI_TELEMETRY=0 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
  AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 BC_SKIP_MAPPING=TRUE \
  CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false

failed=0

log "cfn-lint template.yaml (errors, warnings and informational findings all fail)"
if "$LINT_VENV/bin/cfn-lint" --format parseable template.yaml; then
  echo "cfn-lint: clean"
else
  failed=1
fi

log "sam validate --lint"
out=$("$LINT_VENV/bin/sam" validate --lint --template-file template.yaml 2>&1) || failed=1
echo "$out"
# `sam validate --lint` exits 0 on cfn-lint warnings: any finding fails here too.
if ! grep -q "is a valid SAM Template" <<<"$out" || grep -qE '(^|\[)[EWI][0-9]{4}[: ]' <<<"$out"; then
  failed=1
fi

log "checkov -f template.yaml (offline; skips are explained in the template)"
out=$("$LINT_VENV/bin/checkov" -f template.yaml --framework cloudformation --quiet --compact \
  --skip-download --output cli 2>&1) || failed=1
echo "$out"
if grep -qE 'Failed checks: [1-9]|Check: CKV' <<<"$out"; then
  failed=1
fi

if [ "$failed" -ne 0 ]; then
  echo "template checks FAILED" >&2
  exit 1
fi
echo "template checks passed: cfn-lint, sam validate --lint, checkov"

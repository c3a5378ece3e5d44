#!/usr/bin/env bash
# Release build of every Lambda function for Graviton (`cargo lambda build --release --arm64`,
# zig from PyPI's ziglang as the cross linker), as `sam build` builds them, then each
# bootstrap's size (target: under 10 MB stripped; the release profile strips). A build failure or
# a binary that is not aarch64 fails; a size over the target is reported (a target, not a gate).
# Usage: scripts/build_lambdas.sh [--check-only]   (--check-only: sizes of an existing build)
. "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
ensure_python_tools
# The arm64 release build has a target directory of its own (beside the one the tests use, both under
# the cache directory): it shares nothing with the host builds, and with its own directory it takes
# no lock from them, so a developer can run tests while it builds.
export CARGO_TARGET_DIR="$CACHE/target-lambda"

FUNCTIONS=()
for d in functions/*/; do
  FUNCTIONS+=("$(basename "$d")")
done
LAMBDA_DIR="$CARGO_TARGET_DIR/lambda"
LIMIT=$((10 * 1024 * 1024))

if [ "${1:-}" != "--check-only" ]; then
  args=()
  for f in "${FUNCTIONS[@]}"; do args+=(--bin "$f"); done
  log "cargo lambda build --release --arm64 (${FUNCTIONS[*]})"
  start=$(date +%s)
  cargo lambda build --release --arm64 "${args[@]}"
  echo "build time: $(( $(date +%s) - start )) s"
fi

status=0
printf '%-24s %12s  %s\n' function bytes MiB
for f in "${FUNCTIONS[@]}"; do
  bin="$LAMBDA_DIR/$f/bootstrap"
  if [ ! -f "$bin" ]; then
    echo "$f: $bin missing" >&2
    status=1
    continue
  fi
  size=$(stat -c %s "$bin")
  awk -v f="$f" -v s="$size" 'BEGIN { printf "%-24s %12d  %.1f\n", f, s, s / 1048576 }'
  if ! file "$bin" 2>/dev/null | grep -q 'ARM aarch64'; then
    if command -v file >/dev/null; then
      echo "$f: not an aarch64 binary: $(file -b "$bin")" >&2
      status=1
    fi
  fi
  if [ "$size" -ge "$LIMIT" ]; then
    echo "$f: over the 10 MB size target" >&2
  fi
done
exit "$status"

# Shared shell helpers for the project's scripts. Source it: `. scripts/lib.sh`.
# Everything the scripts need is installed here, from PyPI and crates.io, on a fresh machine.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KIT="${TRAILWARDEN_KIT:-$REPO_ROOT/../shared}"
CACHE="${TRAILWARDEN_CACHE:-$HOME/.cache/trailwarden}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export SAM_CLI_TELEMETRY=0
# Dummy credentials and region for the local emulator; nothing here talks to AWS.
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-$AWS_REGION}"
export AWS_EC2_METADATA_DISABLED=true

log() { printf '\n==> %s\n' "$*" >&2; }

# Python tools in a virtualenv keyed by the requirements file, reused while it is unchanged.
ensure_python_tools() {
  local req="$REPO_ROOT/scripts/requirements.txt"
  local hash; hash=$(sha256sum "$req" | cut -c1-12)
  VENV="$CACHE/venv-$hash"
  if [ ! -x "$VENV/bin/moto_server" ] || [ ! -f "$VENV/.complete" ]; then
    log "installing Python tools into $VENV (moto, awscli, cargo-lambda)"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    touch "$VENV/.complete"
  fi
  export PATH="$VENV/bin:$PATH"
  export MOTO_SERVER="$VENV/bin/moto_server"
}

# cargo-deny from crates.io (pinned), built once into a folder outside the clone.
CARGO_DENY_VERSION=0.20.2
ensure_cargo_deny() {
  local root="$CACHE/tools/cargo-deny-$CARGO_DENY_VERSION"
  if [ ! -x "$root/bin/cargo-deny" ]; then
    log "installing cargo-deny $CARGO_DENY_VERSION from crates.io into $root"
    CARGO_TARGET_DIR="$CACHE/tools/build" cargo install cargo-deny --version "$CARGO_DENY_VERSION" \
      --locked --no-default-features --root "$root" --quiet
  fi
  export PATH="$root/bin:$PATH"
}

# The template linters (cfn-lint, SAM CLI, checkov) in a virtualenv of their own, keyed by
# scripts/requirements-lint.txt: their pins conflict with moto's and awscli's.
ensure_lint_tools() {
  local req="$REPO_ROOT/scripts/requirements-lint.txt"
  local hash; hash=$(sha256sum "$req" | cut -c1-12)
  LINT_VENV="$CACHE/venv-lint-$hash"
  if [ ! -x "$LINT_VENV/bin/checkov" ] || [ ! -f "$LINT_VENV/.complete" ]; then
    log "installing the template linters into $LINT_VENV (cfn-lint, aws-sam-cli, checkov)"
    rm -rf "$LINT_VENV"
    python3 -m venv "$LINT_VENV"
    "$LINT_VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
    "$LINT_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    touch "$LINT_VENV/.complete"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Starts moto_server on a free 127.0.0.1 port; stops it when the calling shell exits.
start_moto() {
  MOTO_PORT=$(free_port)
  MOTO_LOG="$(mktemp -t moto.XXXXXX.log)"
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$MOTO_LOG" 2>&1 &
  MOTO_PID=$!
  trap 'stop_background' EXIT
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$MOTO_PORT/moto-api/" >/dev/null 2>&1; then break; fi
    sleep 0.1
  done
  export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT"
  log "local AWS emulator (moto_server) on $AWS_ENDPOINT_URL"
}

BACKGROUND_PIDS=()
stop_background() {
  for p in "${BACKGROUND_PIDS[@]:-}" "${MOTO_PID:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
  # cargo lambda watch starts the functions as children: stop the whole group.
  for p in "${BACKGROUND_PIDS[@]:-}"; do
    [ -n "$p" ] && pkill -P "$p" 2>/dev/null || true
  done
}

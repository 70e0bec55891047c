#!/usr/bin/env bash
# Runs the released E2B JavaScript SDK, unchanged, against a Boxwood server that this script starts and stops.
#
# Usage: compat/run.sh [test files...]       (default: every compat/test/*.test.mjs)
# Environment:
#   BOXWOOD_DATA_DIR      data dir for the server (default /var/lib/boxwood, so the templates built there are reused)
#   COMPAT_INTERPRETER    1 = also run the @e2b/code-interpreter tests, 0 = never,
#                         auto (default) = when the code-interpreter-v1 template has been built
#   COMPAT_BOXWOOD        the boxwood command to start (default: this checkout's bin/boxwood)
#   COMPAT_READY_TIMEOUT  seconds to wait for "Boxwood is ready" (default 900: serve may build the base template)
#   COMPAT_TEST_TIMEOUT   per-test timeout in ms (default 180000)
#   COMPAT_FILE_TIMEOUT   timeout of one whole test file in ms (default 1200000)
set -euo pipefail

COMPAT_DIR="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
BOXWOOD_HOME="$(cd "$COMPAT_DIR/.." && pwd)"
DATA_DIR="${BOXWOOD_DATA_DIR:-/var/lib/boxwood}"
BOXWOOD_CMD="${COMPAT_BOXWOOD:-$BOXWOOD_HOME/bin/boxwood}"
READY_TIMEOUT="${COMPAT_READY_TIMEOUT:-900}"
export COMPAT_TEST_TIMEOUT="${COMPAT_TEST_TIMEOUT:-180000}"
# node 20 applies --test-timeout to each file as a whole too; per-test limits are set in lib/support.mjs.
FILE_TIMEOUT="${COMPAT_FILE_TIMEOUT:-1200000}"

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'compat: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null || die "node is required (Debian package nodejs)"
command -v npm >/dev/null || die "npm is required (Debian package npm)"

cd "$COMPAT_DIR"
if [[ ! -d node_modules/e2b || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "Installing the pinned E2B SDKs (npm ci)"
  npm ci --silent --no-audit --no-fund >&2
fi

WORK="$(mktemp -d /tmp/boxwood-compat.XXXXXX)"
SERVER_LOG="$WORK/server.log"
SERVER_PID=""
export COMPAT_RUN_ID="compat-$(date +%s)-$$"

stop_server() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    if [[ -n "${E2B_API_URL:-}" ]]; then
      # Sandboxes outlive a gracefully stopped server, so kill what this run left behind first.
      timeout 60 node "$COMPAT_DIR/cleanup.mjs" >&2 || say "cleanup of run $COMPAT_RUN_ID failed"
    fi
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if ((status != 0)); then
    say "Server log ($SERVER_LOG):"
    sed 's/^/  | /' "$SERVER_LOG" >&2 || true
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap stop_server EXIT
trap 'exit 130' INT TERM

PORT="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"

say "Starting boxwood serve on 127.0.0.1:$PORT (data dir $DATA_DIR)"
"$BOXWOOD_CMD" serve --port "$PORT" --data-dir "$DATA_DIR" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

deadline=$((SECONDS + READY_TIMEOUT))
until grep -q '^Boxwood is ready' "$SERVER_LOG"; do
  kill -0 "$SERVER_PID" 2>/dev/null || die "boxwood serve exited before it was ready"
  ((SECONDS < deadline)) || die "boxwood serve was not ready within ${READY_TIMEOUT}s"
  sleep 0.5
done

for var in E2B_API_KEY E2B_API_URL E2B_SANDBOX_URL E2B_DOMAIN; do
  line="$(grep -m1 "^$var=" "$SERVER_LOG")" || die "boxwood serve did not print $var"
  export "$var=${line#*=}"
done
say "Server ready at $E2B_API_URL"

if (($# > 0)); then
  tests=("$@")
else
  tests=(test/*.test.mjs)
  interpreter="${COMPAT_INTERPRETER:-auto}"
  if [[ "$interpreter" == 1 || ("$interpreter" == auto && -d "$DATA_DIR/templates/code-interpreter-v1/rootfs") ]]; then
    tests+=(interpreter/*.test.mjs)
  else
    say "Skipping the code-interpreter tests (no code-interpreter-v1 template; COMPAT_INTERPRETER=1 forces them)"
  fi
fi

say "Running the compatibility suite (run id $COMPAT_RUN_ID)"
status=0
node --test --test-timeout="$FILE_TIMEOUT" --test-reporter=spec "${tests[@]}" || status=$?
exit "$status"

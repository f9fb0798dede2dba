#!/usr/bin/env bash
# The Passkey Flex suite: builds passkeyd, starts it on a free loopback port with a fresh
# database, and drives the unchanged @passageidentity/passage-flex-js in Chromium against it
# (flex.mjs). Prints "flex: N passed, M failed" as the last line (exit status 1 when M > 0).
#
# Optional env:
#   PASSKEYD_BIN                a passkeyd binary built earlier; skips cargo build
#   PASSKEYD_FLEX_DATABASE_URL  database URL to use instead of a fresh SQLite file
#   FLEX_VERBOSE=1              page console, stack traces, and the server log at the end
set -euo pipefail

FLEX_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$FLEX_DIR/../.." && pwd)"

log() { printf '[flex] %s\n' "$*" >&2; }
# A broken set-up is a failure too, so it still ends with the summary line.
die() { log "error: $*"; echo "flex: 0 passed, 1 failed"; exit 1; }

# ---- prerequisites (apt only: the browser is Debian's, never a downloaded one) ----------
apt_install() {
  command -v apt-get >/dev/null || die "need $* but apt-get is not available"
  log "installing $* with apt"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

[[ -x /usr/bin/chromium ]] || apt_install chromium
command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
# playwright-core needs Node 20 or later.
node_major="$(node -p 'process.versions.node.split(".")[0]')"
(( node_major >= 20 )) || die "Node.js >= 20 is required (found $(node --version))"
[[ -n "${PASSKEYD_BIN:-}" ]] || command -v cargo >/dev/null || die "cargo is required to build passkeyd (https://rustup.rs)"

# ---- the SDK and playwright-core: exact versions from package-lock.json -----------------
log "npm ci"
(cd "$FLEX_DIR" && npm ci --no-audit --no-fund --loglevel=error) >&2 || die "npm ci failed"

# ---- passkeyd ---------------------------------------------------------------------------
if [[ -n "${PASSKEYD_BIN:-}" ]]; then
  BIN="$(cd "$(dirname "$PASSKEYD_BIN")" && pwd)/$(basename "$PASSKEYD_BIN")" || die "no $PASSKEYD_BIN"
  log "using $BIN (PASSKEYD_BIN; no cargo build)"
else
  log "cargo build --release (a no-op when the binary is fresh)"
  (cd "$REPO_ROOT" && cargo build --release) || die "cargo build --release failed"
  BIN="$REPO_ROOT/target/release/passkeyd"
fi
[[ -x "$BIN" ]] || die "$BIN is not an executable"

WORK="$(mktemp -d -t passkeyd-flex.XXXXXX)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # still runs the EXIT trap

# A free port from the kernel; if another process takes it first, the health wait fails.
PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
MANAGEMENT_KEY="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
DATABASE_URL="${PASSKEYD_FLEX_DATABASE_URL:-sqlite://$WORK/passkeyd.db}"
BASE_URL="http://127.0.0.1:$PORT"

log "starting passkeyd on $BASE_URL"
(
  cd "$REPO_ROOT"
  PASSKEYD_LISTEN="127.0.0.1:$PORT" \
  PASSKEYD_DATABASE_URL="$DATABASE_URL" \
  PASSKEYD_MANAGEMENT_KEY="$MANAGEMENT_KEY" \
  PASSKEYD_RATE_LIMIT_PER_IP=0 \
  PASSKEYD_RATE_LIMIT_MANAGEMENT_PER_IP=0 \
  PASSKEYD_RATE_LIMIT_FAILED_AUTH_PER_IP=0 \
  PASSKEYD_MAIL_FILE="$WORK/mail.txt" \
    exec "$BIN" serve
) >"$WORK/passkeyd.log" 2>&1 &
SERVER_PID=$!

server_log() { log "passkeyd log (last 40 lines):"; tail -n 40 "$WORK/passkeyd.log" >&2 || true; }

healthy() {
  node -e 'fetch(process.argv[1]).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))' \
    "$BASE_URL/health/http"
}
deadline=$((SECONDS + 60))
until healthy; do
  kill -0 "$SERVER_PID" 2>/dev/null || { server_log; die "passkeyd exited during start-up"; }
  (( SECONDS < deadline )) || { server_log; die "passkeyd did not answer /health/http within 60 s"; }
  sleep 0.2
done
log "passkeyd is healthy"

# ---- the suite --------------------------------------------------------------------------
# flex.mjs ends with its own summary line; it is held back here and printed last, after the
# server checks below.
OUT="$WORK/flex.out"
(cd "$FLEX_DIR" && PASSKEYD_URL="$BASE_URL" PASSKEYD_MANAGEMENT_KEY="$MANAGEMENT_KEY" node flex.mjs) 2>&1 \
  | tee "$OUT" | { grep -v -E '^flex: [0-9]+ passed, [0-9]+ failed$' || true; } || true

PASSED=0
FAILED=0
line="$(grep -E '^flex: [0-9]+ passed, [0-9]+ failed$' "$OUT" | tail -n 1 || true)"
if [[ -n "$line" ]]; then
  read -r PASSED FAILED < <(sed -E 's/^flex: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/' <<<"$line")
else
  log "flex.mjs ended without a summary line"
  FAILED=1
fi
kill -0 "$SERVER_PID" 2>/dev/null || { log "passkeyd is no longer running"; FAILED=$((FAILED + 1)); }
if (( FAILED > 0 )) || [[ -n "${FLEX_VERBOSE:-}" ]]; then server_log; fi

echo "flex: $PASSED passed, $FAILED failed"
(( FAILED == 0 ))

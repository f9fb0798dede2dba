#!/usr/bin/env bash
# The one entry point of the SDK compatibility suite: builds passkeyd, starts it on a free
# loopback port with a fresh database, runs the Node, Python and Passage suites against it,
# and prints "N passed, M failed" as the last line (exit status 1 when M > 0).
#
# Optional env:
#   PASSKEYD_COMPAT_DATABASE_URL  database URL to use instead of a fresh SQLite file
#   COMPAT_VERBOSE=1              page console, stack traces, and the server log at the end
set -euo pipefail

COMPAT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$COMPAT_DIR/../.." && pwd)"

PASSED=0
FAILED=0
log() { printf '[compat] %s\n' "$*" >&2; }
# A broken set-up is a failure too, so it still ends with the summary line.
die() { log "error: $*"; echo "$PASSED passed, $((FAILED + 1)) failed"; exit 1; }

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
python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
command -v cargo >/dev/null || die "cargo is required to build passkeyd (https://rustup.rs)"

# ---- SDKs: exact versions from package-lock.json and requirements.txt -------------------
log "npm ci"
(cd "$COMPAT_DIR" && npm ci --no-audit --no-fund --loglevel=error)

[[ -x "$COMPAT_DIR/.venv/bin/python" ]] || python3 -m venv "$COMPAT_DIR/.venv"
log "pip install -r requirements.txt"
"$COMPAT_DIR/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$COMPAT_DIR/requirements.txt"

# ---- passkeyd ---------------------------------------------------------------------------
log "cargo build --release (the first build takes a few minutes)"
(cd "$REPO_ROOT" && cargo build --release)
BIN="$REPO_ROOT/target/release/passkeyd"
[[ -x "$BIN" ]] || die "$BIN was not built"

WORK="$(mktemp -d -t passkeyd-compat.XXXXXX)"
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

# A free port from the kernel. Another process could take it before passkeyd binds; the
# health wait below then fails fast because the server exits.
PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
MANAGEMENT_KEY="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
DATABASE_URL="${PASSKEYD_COMPAT_DATABASE_URL:-sqlite://$WORK/passkeyd.db}"
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

# Poll the health endpoint until it answers 200; give up after 60 s or if the server dies.
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

# ---- the suites -------------------------------------------------------------------------
# Magic-link e-mails go to this file; the suites read their links from it.
export PASSKEYD_URL="$BASE_URL" PASSKEYD_MANAGEMENT_KEY="$MANAGEMENT_KEY" PASSKEYD_MAIL_FILE="$WORK/mail.txt"

# Runs one suite, echoing its output, and adds its "<label>: N passed, M failed" line to the
# totals. A suite that dies without that line counts as one failure.
run_suite() {
  local label="$1"; shift
  local out="$WORK/$label.out"
  log "running the $label suite"
  (cd "$COMPAT_DIR" && "$@") 2>&1 | tee "$out" || true
  local line
  line="$(grep -E "^$label: [0-9]+ passed, [0-9]+ failed$" "$out" | tail -n 1 || true)"
  if [[ -z "$line" ]]; then
    log "the $label suite ended without a summary line"
    FAILED=$((FAILED + 1))
    return
  fi
  local n m
  read -r n m < <(sed -E 's/^[a-z]+: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/' <<<"$line")
  PASSED=$((PASSED + n))
  FAILED=$((FAILED + m))
}

run_suite node node sdk-compat.mjs
run_suite python "$COMPAT_DIR/.venv/bin/python" sdk_compat.py
# passage-node has the Passage hosts built in: the preload sends them to PASSKEYD_URL.
run_suite passage node --require "$REPO_ROOT/clients/passage-node/preload.cjs" passage-node.mjs

if (( FAILED > 0 )) || [[ -n "${COMPAT_VERBOSE:-}" ]]; then server_log; fi
kill -0 "$SERVER_PID" 2>/dev/null || { log "passkeyd is no longer running"; FAILED=$((FAILED + 1)); }

echo "$PASSED passed, $FAILED failed"
(( FAILED == 0 ))

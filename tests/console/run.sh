#!/usr/bin/env bash
# The admin console in Chromium: builds passkeyd, starts it on a free loopback port with a
# fresh database and a random management key, runs console.mjs against it, and prints
# "console: N passed, M failed" as the last line (exit status 1 on any failure).
# Screenshots of every page are left in tests/console/screenshots/.
#
# Optional env:
#   PASSKEYD_CONSOLE_DATABASE_URL  a database URL instead of a fresh SQLite file
#   PASSKEYD_CONSOLE_PROFILE       cargo profile to build (default: dev, which the tests share)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
log() { printf '[console] %s\n' "$*" >&2; }
die() { log "error: $*"; echo "console: 0 passed, 1 failed"; exit 1; }

# ---- prerequisites (the browser is Debian's, never a downloaded one) --------------------
apt_install() {
  command -v apt-get >/dev/null || die "need $* but apt-get is not available"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
[[ -x /usr/bin/chromium ]] || apt_install chromium
command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
(( $(node -p 'process.versions.node.split(".")[0]') >= 20 )) || die "Node.js >= 20 is required"
command -v cargo >/dev/null || die "cargo is required"

(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"

PROFILE="${PASSKEYD_CONSOLE_PROFILE:-dev}"
log "cargo build --profile $PROFILE"
(cd "$REPO_ROOT" && cargo build --profile "$PROFILE") || die "cargo build failed"
case "$PROFILE" in dev) DIR=debug ;; *) DIR="$PROFILE" ;; esac
BIN="$REPO_ROOT/target/$DIR/passkeyd"
[[ -x "$BIN" ]] || die "$BIN was not built"

WORK="$(mktemp -d -t passkeyd-console.XXXXXX)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
MANAGEMENT_KEY="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
# localhost: the console's cookie is Secure everywhere else, and this is plain HTTP.
BASE_URL="http://localhost:$PORT"

log "starting passkeyd on $BASE_URL"
PASSKEYD_LISTEN="127.0.0.1:$PORT" \
PASSKEYD_DATABASE_URL="${PASSKEYD_CONSOLE_DATABASE_URL:-sqlite://$WORK/passkeyd.db}" \
PASSKEYD_MANAGEMENT_KEY="$MANAGEMENT_KEY" \
PASSKEYD_RATE_LIMIT_PER_IP=0 \
PASSKEYD_RATE_LIMIT_MANAGEMENT_PER_IP=0 \
  "$BIN" serve >"$WORK/passkeyd.log" 2>&1 &
SERVER_PID=$!

deadline=$((SECONDS + 60))
until node -e 'fetch(process.argv[1]).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))' "$BASE_URL/health/http"; do
  kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 40 "$WORK/passkeyd.log" >&2; die "passkeyd exited during start-up"; }
  (( SECONDS < deadline )) || die "passkeyd did not answer within 60 s"
  sleep 0.2
done

status=0
(cd "$HERE" && PASSKEYD_URL="$BASE_URL" PASSKEYD_MANAGEMENT_KEY="$MANAGEMENT_KEY" node console.mjs) \
  | tee "$WORK/out.txt" || status=1
line="$(grep -E '^console: [0-9]+ passed, [0-9]+ failed$' "$WORK/out.txt" | tail -n 1 || true)"
if [[ -z "$line" ]]; then
  tail -n 40 "$WORK/passkeyd.log" >&2
  die "the suite ended without a summary line"
fi
if (( status != 0 )); then
  log "passkeyd log (last 40 lines):"
  tail -n 40 "$WORK/passkeyd.log" >&2
  # The summary stays the last line.
  echo "$line"
fi
exit "$status"

#!/usr/bin/env bash
# End-to-end test of the Harbor example (examples/express): installs what it needs, then runs
# test/e2e.mjs, which starts the example with `npm start` (the example starts its own passkeyd)
# and drives Debian's Chromium through sign-up, sign-in, passkey management, step-up and
# error states, then briefly again with SESSION_CHECK=passage (sessions checked by the Passage
# Node SDK behind passkeyd's preload). Screenshots go to examples/express/screenshots/.
#
# The last line is "example: N passed, M failed"; the exit status is 1 when anything failed.
#
# Optional env:
#   CHROMIUM_PATH=/path/to/chromium   another Chromium (default /usr/bin/chromium, via apt)
#   EXAMPLE_VERBOSE=1                 page console, stack traces and the example's output
set -euo pipefail

EXAMPLE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_ROOT="$(cd "$EXAMPLE_DIR/../.." && pwd)"
BIN="$REPO_ROOT/target/release/passkeyd"

log() { printf '[example] %s\n' "$*" >&2; }
# A broken set-up is a failure too, so it still ends with the summary line.
die() { log "error: $*"; echo "example: 0 passed, 1 failed"; exit 1; }

apt_install() {
  command -v apt-get >/dev/null || die "need $* but apt-get is not available"
  log "installing $* with apt"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# ---- prerequisites: Debian's Chromium, Node.js 20+ --------------------------------------
if [[ -z "${CHROMIUM_PATH:-}" && ! -x /usr/bin/chromium ]]; then apt_install chromium; fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then apt_install nodejs npm; fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
(( node_major >= 20 )) || die "Node.js >= 20 is required (found $(node --version))"

# ---- the example's packages, exactly as locked ------------------------------------------
log "npm ci"
(cd "$EXAMPLE_DIR" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"

# ---- passkeyd: built only when the release binary is missing ----------------------------
if [[ ! -x "$BIN" ]]; then
  command -v cargo >/dev/null || die "$BIN is missing and cargo is not installed (https://rustup.rs)"
  log "$BIN is missing: cargo build --release (the first build takes a few minutes)"
  (cd "$REPO_ROOT" && cargo build --release) || die "cargo build --release failed"
fi

# ---- the test ---------------------------------------------------------------------------
cd "$EXAMPLE_DIR"
exec node test/e2e.mjs

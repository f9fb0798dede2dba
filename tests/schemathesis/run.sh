#!/usr/bin/env bash
# Property-based API tests with Schemathesis: builds passkeyd (release), starts it on a free
# loopback port with a fresh SQLite file, a management key and a bootstrap app, and runs
# Schemathesis against the server's own /openapi.yaml with the app's keys. Checks:
# not_a_server_error, response_schema_conformance and status_code_conformance.
#
# Prints one line per API operation and "N passed, M failed" as the last line (operations);
# exits 1 when M > 0 or when anything in the set-up fails.
#
# Optional env:
#   SCHEMATHESIS_MAX_EXAMPLES   test cases per operation and phase (default 20)
#   SCHEMATHESIS_TIMEOUT        hard bound on the Schemathesis run in seconds (default 600)
#   SCHEMATHESIS_VERBOSE=1      Schemathesis' full output and the server log
set -euo pipefail

ST_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$ST_DIR/../.." && pwd)"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-20}"
TIMEOUT="${SCHEMATHESIS_TIMEOUT:-600}"

log() { printf '[schemathesis] %s\n' "$*" >&2; }
# A broken set-up is a failure too, so it still ends with the summary line.
die() { log "error: $*"; echo "0 passed, 1 failed"; exit 1; }

# ---- prerequisites -----------------------------------------------------------------------
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  command -v apt-get >/dev/null || die "python3 with venv is required"
  log "installing python3-venv with apt"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi
command -v cargo >/dev/null || die "cargo is required to build passkeyd (https://rustup.rs)"

VENV="$ST_DIR/.venv"
[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV" || die "cannot create $VENV"
log "pip install -r requirements.txt"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ST_DIR/requirements.txt" \
  || die "pip install failed"
PY="$VENV/bin/python"

# ---- passkeyd ----------------------------------------------------------------------------
log "cargo build --release"
(cd "$REPO_ROOT" && cargo build --release) || die "cargo build failed"
BIN="$REPO_ROOT/target/release/passkeyd"
[[ -x "$BIN" ]] || die "$BIN was not built"

WORK="$(mktemp -d -t passkeyd-schemathesis.XXXXXX)"
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

APP_ID="schemathesis"
MANAGEMENT_KEY="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
log "starting passkeyd"
PASSKEYD_LISTEN="127.0.0.1:0" \
PASSKEYD_DATABASE_URL="sqlite://$WORK/passkeyd.db" \
PASSKEYD_MANAGEMENT_KEY="$MANAGEMENT_KEY" \
PASSKEYD_RATE_LIMIT_PER_IP=0 \
PASSKEYD_RATE_LIMIT_MANAGEMENT_PER_IP=0 \
PASSKEYD_RATE_LIMIT_FAILED_AUTH_PER_IP=0 \
PASSKEYD_BOOTSTRAP_APP="$APP_ID" \
PASSKEYD_MAIL_FILE="$WORK/mail.txt" \
PASSKEYD_MAGIC_LINK_NEW_APP_HOURS=0 \
PASSKEYD_LOG_FORMAT=json \
  "$BIN" serve >"$WORK/passkeyd.log" 2>&1 &
SERVER_PID=$!

server_log() { log "passkeyd log (last 40 lines):"; tail -n 40 "$WORK/passkeyd.log" >&2 || true; }

# The address it listens on and the bootstrap app's keys, from its JSON log.
read_log() {
  "$PY" - "$WORK/passkeyd.log" <<'EOF'
import json, sys
found = {}
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try:
        fields = json.loads(line).get("fields", {})
    except ValueError:
        continue
    if fields.get("message") == "passkeyd listening":
        found["address"] = fields["address"]
    if "key" in fields and "value" in fields:
        found[fields["key"]] = fields["value"]
if {"address", "apiKey1", "apiSecret1"} <= found.keys():
    print(found["address"], found["apiKey1"], found["apiSecret1"])
EOF
}
ADDRESS="" API_KEY="" API_SECRET=""
for _ in $(seq 1 300); do
  kill -0 "$SERVER_PID" 2>/dev/null || { server_log; die "passkeyd exited at start-up"; }
  read -r ADDRESS API_KEY API_SECRET < <(read_log) || true
  [[ -n "$ADDRESS" ]] && break
  sleep 0.1
done
[[ -n "$ADDRESS" ]] || { server_log; die "passkeyd did not start listening"; }
BASE_URL="http://$ADDRESS"
log "passkeyd at $BASE_URL, app '$APP_ID'"

# Features off by default would hide the event log and authenticator endpoints behind 403s.
"$PY" - "$BASE_URL/admin/apps/$APP_ID/features" "$MANAGEMENT_KEY" <<'EOF' || die "cannot set the app's features"
import json, sys, urllib.request
body = {"eventLoggingIsEnabled": True, "eventLoggingRetentionPeriod": 30, "allowAttestation": True}
request = urllib.request.Request(sys.argv[1], data=json.dumps(body).encode(), method="POST",
    headers={"ManagementKey": sys.argv[2], "Content-Type": "application/json"})
urllib.request.urlopen(request, timeout=10).read()
EOF

# ---- Schemathesis ------------------------------------------------------------------------
JUNIT="$WORK/junit.xml"
log "schemathesis: $MAX_EXAMPLES examples per operation, at most ${TIMEOUT}s"
set +e
# From $WORK: Schemathesis keeps replay data in ./.schemathesis, which must not land in the repo.
(cd "$WORK" && exec timeout --kill-after=10 "$TIMEOUT" "$VENV/bin/st" run "$BASE_URL/openapi.yaml" \
  --url "$BASE_URL" \
  --header "ApiKey: $API_KEY" \
  --header "ApiSecret: $API_SECRET" \
  --header "ManagementKey: $MANAGEMENT_KEY" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance \
  --max-examples "$MAX_EXAMPLES" \
  --request-timeout 10 \
  --generation-database none \
  --seed "${SCHEMATHESIS_SEED:-1}" \
  --no-color \
  --report junit --report-junit-path "$JUNIT") \
  >"$WORK/schemathesis.out" 2>&1
ST_STATUS=$?
set -e
if [[ -n "${SCHEMATHESIS_VERBOSE:-}" ]] || (( ST_STATUS != 0 )); then
  cat "$WORK/schemathesis.out"
fi
if (( ST_STATUS == 124 || ST_STATUS == 137 )); then
  log "schemathesis did not finish within ${TIMEOUT}s"
fi

# One line per operation from the JUnit report, then the totals. An operation with a failure
# or an error fails; a run that produced no report is one failure.
set +e
"$PY" - "$JUNIT" "$ST_STATUS" <<'EOF'
import sys
import xml.etree.ElementTree as ET
path, status = sys.argv[1], int(sys.argv[2])
try:
    cases = list(ET.parse(path).getroot().iter("testcase"))
except (OSError, ET.ParseError) as e:
    print(f"[schemathesis] no report ({e})", file=sys.stderr)
    print("0 passed, 1 failed")
    sys.exit(1)
passed = failed = 0
for case in cases:
    problems = case.findall("failure") + case.findall("error")
    skipped = case.find("skipped") is not None
    name = case.get("name")
    if problems:
        failed += 1
        print(f"FAIL {name}")
        for p in problems:
            text = "\n".join(t.strip() for t in (p.get("message"), p.text) if t)
            for line in text.splitlines()[:40]:
                print(f"    {line}")
    elif skipped:
        print(f"skip {name}")
    else:
        passed += 1
        print(f"ok   {name}")
# Schemathesis failing (or timing out) without a failed operation still fails the run.
if status != 0 and failed == 0:
    failed = 1
    print(f"[schemathesis] exited with status {status}", file=sys.stderr)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
EOF
RESULT=$?
set -e
# What the server answered, from its access log: a run of only 401s would test nothing.
"$PY" - "$WORK/passkeyd.log" <<'EOF' >&2 || true
import collections, json, sys
statuses, errors = collections.Counter(), 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try:
        entry = json.loads(line)
    except ValueError:
        continue
    fields = entry.get("fields", {})
    if fields.get("message") == "finished processing request":
        statuses[fields.get("status")] += 1
    if entry.get("level") == "ERROR":
        errors += 1
summary = ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()))
print(f"[schemathesis] responses by status: {summary}; ERROR log lines: {errors}")
EOF
kill -0 "$SERVER_PID" 2>/dev/null || { log "passkeyd is no longer running"; RESULT=1; }
if (( RESULT != 0 )) || [[ -n "${SCHEMATHESIS_VERBOSE:-}" ]]; then server_log; fi
exit "$RESULT"

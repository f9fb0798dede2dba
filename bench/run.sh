#!/usr/bin/env bash
# One-command benchmark: builds passkeyd and passkeyd-bench with --release, starts passkeyd on
# a fresh database, registers users, runs the sign-in phases, stops the server, cleans up.
#
#   bench/run.sh                                  SQLite, 10,000 users, max rate then 1,000/s
#   bench/run.sh --postgres postgres://postgres@127.0.0.1:5432/test
#   bench/run.sh --fill 1000000                   grow the store to 1M credentials first
#
# run.sh's own flags come first; everything after them goes to passkeyd-bench (see
# `target/release/passkeyd-bench --help`), e.g. `--users 2000 --duration 10 --rate max`.
# Results: a table on stdout and JSON in the work folder printed at the end (or --json FILE).
set -euo pipefail
cd "$(dirname "$0")/.."

postgres=""
fill=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --postgres) postgres=$2; shift 2 ;;
    --fill) fill=$2; shift 2 ;;
    *) break ;;
  esac
done

echo "== building (release)" >&2
cargo build --release --quiet
(cd bench && cargo build --release --quiet --locked)
bin=target/release

# A free port: the first of 5790.. that nothing answers on.
port=${PORT:-}
if [[ -z $port ]]; then
  for p in $(seq 5790 5899); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
  done
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/passkeyd-bench.XXXXXX")
database=""
cleanup() {
  if [[ -n $postgres && -n $database ]]; then
    psql "$postgres" -q -c "drop database if exists $database with (force)" >&2 || true
  fi
  rm -f "$work"/passkeyd.db "$work"/passkeyd.db-wal "$work"/passkeyd.db-shm
}
trap cleanup EXIT

extra=()
if [[ -n $postgres ]]; then
  # A database of our own, dropped at exit. The URL's last path segment is replaced.
  database="passkeyd_bench_$$"
  psql "$postgres" -q -c "create database $database"
  base=${postgres%%\?*}
  database_url="${base%/*}/$database"
  # Our backends (by database name) and the shared writer processes.
  extra+=(--db-match "$database,: walwriter,: checkpointer,: background writer")
else
  database_url="sqlite://$work/passkeyd.db"
fi
if [[ -n $fill ]]; then
  extra+=(--after-register "bench/fill.sh '$database_url' $fill")
fi

echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src migrations Cargo.toml Cargo.lock 2>/dev/null || echo ' (with uncommitted changes)')" >&2
echo "== work folder $work, server on 127.0.0.1:$port, database ${database_url}" >&2
"$bin/passkeyd-bench" \
  --spawn "$bin/passkeyd" \
  --database-url "$database_url" \
  --url "http://127.0.0.1:$port" \
  --server-log "$work/server.log" \
  --json "$work/result.json" \
  --rate max,1000 \
  "${extra[@]}" \
  "$@"
echo "== server log: $work/server.log" >&2

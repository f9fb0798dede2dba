#!/usr/bin/env bash
# Grows the credentials table of one app to TOTAL rows without going through HTTP, so that
# sign-in throughput can be measured against a large store (registering 1M users over HTTP
# takes hours on a small machine).
#
#   bench/fill.sh DATABASE_URL TOTAL [APP_ID]      (APP_ID defaults to $BENCH_APP_ID)
#
# The new rows are copies of one real credential of the app (same COSE key, WebAuthn record,
# RP ID and times) with a fresh random 16-byte credential id, a fresh random user id of the
# same shape as the benchmark's ("u" + 16 hex digits) and the matching user handle. They are
# ballast: nobody can sign in with them, but every index and page they occupy is real. The
# benchmark keeps signing in with the users it registered.
#
# Afterwards the table is physically ordered by its primary key (app_id, credential_id), which
# for random ids scatters the real users' rows evenly among the copies — as in a real
# database, where active users are not stored next to each other. SQLite: the rows are
# rewritten in that order (rowids follow), then the WAL is checkpointed; PostgreSQL: CLUSTER
# on the primary key, ANALYZE, CHECKPOINT.
#
# Run it while the server is idle (passkeyd-bench calls it between registration and the
# sign-in phases through --after-register; bench/run.sh --fill N does that for you).
set -euo pipefail

usage() { echo "usage: $0 DATABASE_URL TOTAL [APP_ID]" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
url=$1
total=$2
app=${3:-${BENCH_APP_ID:-}}
[[ $total =~ ^[0-9]+$ ]] || usage
# App ids are lower-case letters and digits (the server enforces it), so they are safe to
# splice into SQL; check anyway.
[[ $app =~ ^[a-z][a-z0-9]{2,61}$ ]] || { echo "$0: bad or missing app id '$app'" >&2; exit 2; }

columns="app_id, credential_id, user_id, user_handle, public_key, sign_count, attestation_fmt,
  aaguid, rp_id, origin, country, device, nickname, backup_state, backup_eligible,
  discoverable, webauthn, created_at, last_used_at"
copied="t.app_id, %CRED_ID%, f.uid, %HANDLE%, t.public_key, 0, t.attestation_fmt,
  t.aaguid, t.rp_id, t.origin, t.country, t.device, t.nickname, t.backup_state,
  t.backup_eligible, t.discoverable, t.webauthn, t.created_at, t.last_used_at"

case $url in
sqlite:*)
  path=${url#sqlite://}
  path=${path#sqlite:}
  path=${path%%\?*}
  have=$(sqlite3 "$path" "select count(*) from credentials where app_id = '$app'")
  add=$(( total > have ? total - have : 0 ))
  echo "fill: $path: app $app has $have credentials, adding $add" >&2
  values=${copied//%CRED_ID%/randomblob(16)}
  values=${values//%HANDLE%/cast(f.uid as blob)}
  sqlite3 "$path" >/dev/null <<SQL
.bail on
pragma busy_timeout = 60000;
begin immediate;
create temp table fill as select * from credentials where app_id = '$app';
-- MATERIALIZED: each user id is drawn once, then used for both user_id and user_handle.
with recursive n(i) as (select 1 where $add > 0 union all select i + 1 from n where i < $add),
  f as materialized (select 'u' || lower(hex(randomblob(8))) as uid from n)
insert into fill ($columns)
select $values
from f, (select * from credentials where app_id = '$app' order by rowid limit 1) as t;
delete from credentials where app_id = '$app';
insert into credentials select * from fill order by app_id, credential_id;
commit;
pragma wal_checkpoint(truncate);
SQL
  now=$(sqlite3 "$path" "select count(*) from credentials where app_id = '$app'")
  ;;
postgres:* | postgresql:*)
  have=$(psql "$url" -Atqc "select count(*) from credentials where app_id = '$app'")
  add=$(( total > have ? total - have : 0 ))
  echo "fill: app $app has $have credentials, adding $add" >&2
  # Through variables: quotes in a ${//} replacement would be removed.
  cred_id="decode(md5(random()::text || g::text), 'hex')"
  handle="convert_to(f.uid, 'UTF8')"
  values=${copied//%CRED_ID%/$cred_id}
  values=${values//%HANDLE%/$handle}
  psql "$url" -q -v ON_ERROR_STOP=1 <<SQL
insert into credentials ($columns)
select $values
from generate_series(1, $add) as g
  cross join lateral (select 'u' || substr(md5(random()::text || g::text), 1, 16) as uid) as f
  cross join (select * from credentials where app_id = '$app' limit 1) as t;
cluster credentials using credentials_pkey;
analyze credentials;
SQL
  # Flush the gigabyte of WAL the fill wrote now rather than in a checkpoint during the
  # measurement (needs superuser or pg_checkpoint; skipped with a warning otherwise).
  psql "$url" -q -c "checkpoint" || echo "fill: could not CHECKPOINT; expect one during the run" >&2
  now=$(psql "$url" -Atqc "select count(*) from credentials where app_id = '$app'")
  ;;
*)
  echo "$0: DATABASE_URL must start with sqlite: or postgres:" >&2
  exit 2
  ;;
esac
echo "fill: done, app $app now has $now credentials" >&2

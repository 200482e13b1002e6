#!/usr/bin/env bash
# Copies the dashboard demo's SQLite database (the one `perf.mjs --keep DIR` keeps in
# DIR/data/fleetward.db) into an empty PostgreSQL database, so that `perf.mjs --db URL` times
# the dashboard on PostgreSQL at the same size (issue 7). The schema is made by `fleetward
# init` (the same migrations), then every table the dashboard reads is copied with COPY.
#   tests/web/demo-to-postgres.sh FLEETWARD_BIN SQLITE_DB POSTGRES_URL
# Needs sqlite3 and psql. The PostgreSQL database must exist and be empty.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 FLEETWARD_BIN SQLITE_DB POSTGRES_URL" >&2; exit 2; }
bin=$1 db=$2 url=$3
[ -f "$db" ] || { echo "$0: no such database: $db" >&2; exit 2; }
"$bin" init --db "$url" >/dev/null
# Parents before children (foreign keys); the tokens and sessions of `init` are replaced.
psql "$url" -qc "DELETE FROM web_sessions; DELETE FROM api_tokens; DELETE FROM settings;"
for t in settings org_units people devices device_apps policy_docs exemptions findings finding_changes \
         campaign_snapshots campaign_burndown sightings exchange_devices eval_digests api_tokens; do
  cols=$(sqlite3 "$db" "SELECT group_concat(name, ',') FROM pragma_table_info('$t')")
  [ -n "$cols" ] || continue
  # NULL as \N, so that an empty string stays an empty string.
  sqlite3 -csv -nullvalue '\N' "$db" "SELECT $cols FROM $t" |
    psql "$url" -qc "COPY $t ($cols) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
  echo "$t: $(psql "$url" -tAc "SELECT count(*) FROM $t") rows"
done
psql "$url" -qc "ANALYZE"

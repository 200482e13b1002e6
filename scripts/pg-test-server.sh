#!/usr/bin/env bash
# Starts (or stops) a private PostgreSQL 15 server for the tests, on 127.0.0.1 only.
#   scripts/pg-test-server.sh start   -> prints: export FW_TEST_PG_URL=postgresql://...
#   scripts/pg-test-server.sh stop
# Data lives in ${FW_PG_DIR:-/tmp/fleetward-pg}; port ${FW_PG_PORT:-54329}. Idempotent.
set -euo pipefail
DIR=${FW_PG_DIR:-/tmp/fleetward-pg}
PORT=${FW_PG_PORT:-54329}
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
RUN=()
if [ "$(id -u)" -eq 0 ]; then RUN=(runuser -u postgres --); fi

case "${1:-start}" in
  start)
    if [ ! -f "$DIR/PG_VERSION" ]; then
      mkdir -p "$DIR"
      [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$DIR"
      "${RUN[@]}" "$BIN/initdb" -D "$DIR" -U postgres -A trust --no-sync >/dev/null
    fi
    if ! "${RUN[@]}" "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
      "${RUN[@]}" "$BIN/pg_ctl" -D "$DIR" -w -l "$DIR/server.log" \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c max_connections=200" start >/dev/null
    fi
    "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='fleetward_test'" | grep -q 1 ||
      "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qc "CREATE DATABASE fleetward_test"
    echo "export FW_TEST_PG_URL=postgresql://postgres@127.0.0.1:$PORT/fleetward_test"
    ;;
  stop)
    "${RUN[@]}" "$BIN/pg_ctl" -D "$DIR" -m fast stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# The check-in figures of docs/PERFORMANCE.md ("### Check-ins on the server") in one run:
# `fleetward serve` on a fresh SQLite file (WAL, synchronous=FULL), N devices enrolled, then
#   1. first reports: every device sends its full report once (50-150 apps, ~12 KB);
#   2. steady state: deltas as fast as the connections allow (10 % change a fact, the
#      rest are heartbeats);
#   3. a fixed 5,000 check-ins/s for the p99 goal, and 2,500/s;
#   4. the ceiling: the same load generator POSTing 2 KB to nginx answering a static 204.
# For each phase: rate, latency percentiles, wall time, the server's CPU seconds (from
# /proc/PID/stat) and per request, the load generator's own CPU, and the load average at
# its start. The server's I/O threads (fw-io-N) are also counted on their own.
# Usage: bench/checkin_load/run.sh [BUILD_DIR] [DEVICES]  (default build-srv-rel, 100000;
#        BUILD_DIR must hold a Release build of the targets fleetward and checkin_load)
# Env: CONNS (keep-alive connections, one request in flight each; default 1024: 100,000
#      devices are independent clients, and 256 capped the rate at 256 / latency),
#      RATE_CONNS (connections of the fixed-rate phases, default 256: at 1,024 the
#      requests came in bursts, batches of up to ~950 at 5,000/s, and p99 doubled), SECS
#      (phase length, default 15), THREADS (server I/O threads, default 2 = the cores of
#      the machine it was written for).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-$SRC/build-srv-rel}
N=${2:-100000}
CONNS=${CONNS:-1024}
RATE_CONNS=${RATE_CONNS:-256}
SECS=${SECS:-15}
THREADS=${THREADS:-2}
FW=$B/src/cli/fleetward
LOAD=$B/bench/checkin_load/checkin_load
T=$(mktemp -d)
SRV=""
NGX=""
cleanup() {
  [ -n "$SRV" ] && kill "$SRV" 2>/dev/null || true
  [ -n "$NGX" ] && kill "$NGX" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }  # utime + stime, clock ticks of 10 ms
# The same summed over the server's I/O threads (named fw-io-N; 0 for a server without names).
io_cpu_s() { cat /proc/"$1"/task/*/stat 2>/dev/null | awk '$2 ~ /^\(fw-io-/ {t += $14 + $15} END {printf "%.2f", t / 100}'; }

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); $(date -u +%FT%TZ)"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
DB=$T/fw.db
start_server() {
  "$FW" serve --db "$DB" --listen "127.0.0.1:$PORT" --threads "$THREADS" --log-level info >>"$T/serve.log" 2>&1 &
  SRV=$!
  for _ in $(seq 300); do curl -sf "$URL/healthz" >/dev/null && return 0; sleep 0.1; done
  echo "run.sh: the server did not start"; cat "$T/serve.log"; exit 1
}

# The requests a phase log reports as answered ("... N ok in", or "enrolled N devices").
answered() { sed -n 's/^check-ins: \([0-9]*\) ok.*/\1/p; s/^requests: \([0-9]*\) ok.*/\1/p; s/^enrolled \([0-9]*\) devices.*/\1/p' "$1" | sort -n | tail -1; }
per_req_us() { [ "${2:-0}" -gt 0 ] 2>/dev/null && echo "scale=1; $1 * 1000000 / $2" | bc || echo "-"; }

phase() {  # label, checkin_load arguments...
  local label=$1; shift
  local load c0 c1 i0 i1 t0 t1 n srv io gen
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  c0=$(cpu_s "$SRV"); i0=$(io_cpu_s "$SRV"); t0=$(date +%s.%N)
  local log0; log0=$(wc -l <"$T/serve.log")
  /usr/bin/time -f "%U %S" -o "$T/gen.time" \
    "$LOAD" --server "$URL" --devices "$N" --devices-file "$T/devices.txt" "$@" >"$T/phase.log" 2>&1
  t1=$(date +%s.%N); c1=$(cpu_s "$SRV"); i1=$(io_cpu_s "$SRV")
  n=$(answered "$T/phase.log")
  srv=$(echo "$c1 - $c0" | bc); io=$(echo "$i1 - $i0" | bc)
  gen=$(awk '{print $1 + $2}' "$T/gen.time")
  echo "== $label  (load average at start: $load)"
  echo "   checkin_load --devices $N $*"
  sed 's/^/   /' "$T/phase.log"
  echo "   wall $(echo "$t1 - $t0" | bc) s; server CPU $srv s = $(per_req_us "$srv" "$n") us per request" \
       "(I/O threads $io s = $(per_req_us "$io" "$n") us); load generator CPU $gen s = $(per_req_us "$gen" "$n") us per request"
  # The group-commit writer's own figures (a line per 5 s window; see WriterTimings in
  # src/service/checkin.cpp): batch size, SQL (apply) and COMMIT+fsync times, busy share.
  tail -n +"$((log0 + 1))" "$T/serve.log" | sed -n 's/.*check-in writer: /   writer: /p'
}

# Enrolment and the first (full) reports take minutes at 100,000 devices: the fleet they
# leave (database + devices file) is kept in /tmp/fw-bench-checkin-N and copied by later
# runs, which print the figures of the run that made it. rm -rf that directory to remeasure.
CACHE=/tmp/fw-bench-checkin-$N
if [ -f "$CACHE/fw.db" ] && [ -f "$CACHE/devices.txt" ] && [ -f "$CACHE/setup.log" ]; then
  cp "$CACHE/fw.db" "$DB"; cp "$CACHE/devices.txt" "$T/devices.txt"
  [ -f "$CACHE/fw.db-wal" ] && cp "$CACHE/fw.db-wal" "$DB-wal"
  echo "(enrolment and first reports: reused $CACHE; figures of the run that made it:)"
  cat "$CACHE/setup.log"
  start_server
else
  TOKEN=$("$FW" init --db "$DB" | sed -n 's/.*Admin token[^:]*: //p')
  start_server
  curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"path":"/load","name":"Load test"}' "$URL/api/v1/org-units" >/dev/null
  SECRET=$(curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"org_unit_path\":\"/load\",\"ttl\":\"1d\",\"max_uses\":$N}" "$URL/api/v1/agent/enroll-secrets" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
  {
    echo "   [$(date -u +%FT%TZ), built from $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?')]"
    phase "enrolment" --enroll-secret "$SECRET" --connections 64 --duration 0
    phase "first reports (full, 50-150 apps)" --connections "$CONNS" --checkins "$N" --duration 1800
  } | tee "$T/setup.log"
  kill "$SRV"; wait "$SRV" 2>/dev/null || true  # a clean stop checkpoints the WAL into fw.db
  mkdir -p "$CACHE"
  rm -f "$CACHE/fw.db-wal"; [ -f "$DB-wal" ] && cp "$DB-wal" "$CACHE/fw.db-wal"
  cp "$DB" "$CACHE/fw.db"; cp "$T/devices.txt" "$CACHE/devices.txt"; cp "$T/setup.log" "$CACHE/setup.log"
  start_server
fi
# The server was restarted on the fleet: one check-in per device (deltas, not measured for
# the goals) warms its credential cache and SQLite's pages, as on a server that has been up.
phase "warm-up: one delta per device" --connections "$CONNS" --checkins "$N" --duration 600
phase "steady state (deltas, 10% changed)" --connections "$CONNS" --duration "$SECS"
phase "fixed 5,000/s (deltas)" --connections "$RATE_CONNS" --rate 5000 --duration "$SECS"
# Latency at half that rate: what a loaded machine sustains (beside the goal's 5,000/s).
phase "fixed 2,500/s (deltas)" --connections "$RATE_CONNS" --rate 2500 --duration "$SECS"
kill "$SRV"; wait "$SRV" 2>/dev/null || true; SRV=""

# The HTTP ceiling in the same run: nginx, 1 worker, static 204 for any POST.
NPORT=$(free_port)
mkdir -p "$T/nginx"
cat >"$T/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $T/nginx;
  proxy_temp_path $T/nginx; fastcgi_temp_path $T/nginx; uwsgi_temp_path $T/nginx; scgi_temp_path $T/nginx;
  server { listen 127.0.0.1:$NPORT; keepalive_requests 1000000; location / { return 204; } }
}
EOF
/usr/sbin/nginx -c "$T/nginx/nginx.conf" -p "$T/nginx" &
NGX=$!
for _ in $(seq 50); do curl -s "http://127.0.0.1:$NPORT/" >/dev/null && break; sleep 0.1; done
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== nginx static 204, 2 KB POST bodies  (load average at start: $load)"
/usr/bin/time -f "%U %S" -o "$T/gen.time" \
  "$LOAD" --server "http://127.0.0.1:$NPORT" --raw-post / --connections "$CONNS" --duration "$SECS" >"$T/phase.log"
sed 's/^/   /' "$T/phase.log"
n=$(answered "$T/phase.log")
ngx=$(for p in "$NGX" $(pgrep -P "$NGX"); do cpu_s "$p"; echo; done | paste -sd+ | bc)
gen=$(awk '{print $1 + $2}' "$T/gen.time")
echo "   nginx CPU (master + worker) $ngx s = $(per_req_us "$ngx" "$n") us per request;" \
     "load generator CPU $gen s = $(per_req_us "$gen" "$n") us per request"

#!/usr/bin/env bash
# No loss under a crash (issue 6): starts `fleetward serve` on SQLite, drives
# bench/checkin_load at it, kills the server with SIGKILL in the middle of the run,
# restarts it, and asserts that every check-in the load generator saw acknowledged is in
# the database (the device's stored seq >= the acked seq: the larger of agent_devices.last_seq
# and its rows in the check-in log, migration 0013, which the writer folds into agent_devices
# later) and that SQLite's integrity check passes. Then a second load phase runs against the
# restarted server, which folds the crashed run's log in its first batch and the rest at a
# clean stop (agent_devices alone then holds every acked seq, and the log is empty), and a
# third kills the server during enrolments (acknowledged enrolments durable, uses exact).
# Usage: tests/agent/crash_test.sh BUILD_DIR   (needs src/cli/fleetward and
#        bench/checkin_load/checkin_load built there)
set -euo pipefail
B=${1:?usage: crash_test.sh BUILD_DIR}
FW=$B/src/cli/fleetward
LOAD=$B/bench/checkin_load/checkin_load
T=$(mktemp -d)
SRV=""
cleanup() { [ -n "$SRV" ] && kill "$SRV" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
DB=$T/fw.db
TOKEN=$("$FW" init --db "$DB" | sed -n 's/.*Admin token[^:]*: //p')
[ -n "$TOKEN" ] || { echo "crash_test: no admin token from fleetward init"; exit 1; }

start_server() {
  "$FW" serve --db "$DB" --listen "127.0.0.1:$PORT" --threads 8 >"$T/serve.log" 2>&1 &
  SRV=$!
  for _ in $(seq 100); do curl -sf "$URL/healthz" >/dev/null && return 0; sleep 0.1; done
  echo "crash_test: server did not start"; cat "$T/serve.log"; exit 1
}

start_server
curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"path":"/load","name":"Load test"}' "$URL/api/v1/org-units" >/dev/null
SECRET=$(curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"org_unit_path":"/load","ttl":"1d","max_uses":100000}' "$URL/api/v1/agent/enroll-secrets" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')

# Enrol the devices first (no check-ins), so the kill below lands among check-ins.
"$LOAD" --server "$URL" --enroll-secret "$SECRET" --devices 2000 --connections 32 --duration 0 \
  --devices-file "$T/devices.txt" >"$T/load0.log" 2>&1
cat "$T/load0.log"

# Every device's first (full) report, so that phase 1 is deltas, mostly heartbeats, which
# the server appends to its check-in log.
"$LOAD" --server "$URL" --devices 2000 --connections 32 --checkins 2000 --duration 120 \
  --devices-file "$T/devices.txt" >"$T/load0b.log" 2>&1
cat "$T/load0b.log"

# Phase 1: check-ins for 8 s, with a SIGKILL of the server 3 s into them.
"$LOAD" --server "$URL" --devices 2000 --connections 32 --duration 8 \
  --devices-file "$T/devices.txt" --acked "$T/acked.txt" >"$T/load1.log" 2>&1 &
LOADPID=$!
sleep 3
kill -9 "$SRV"
wait "$SRV" 2>/dev/null || true
SRV=""
wait "$LOADPID"
cat "$T/load1.log"
grep -q "conn-error=" "$T/load1.log" || { echo "crash_test: the kill did not land during the load"; exit 1; }
ACKED=$(wc -l <"$T/acked.txt")
[ "$ACKED" -gt 0 ] || { echo "crash_test: nothing was acknowledged before the kill"; exit 1; }

# Restart; every acknowledged check-in must be there.
start_server
kill "$SRV"; wait "$SRV" 2>/dev/null || true; SRV=""   # checks run on the closed database
python3 - "$DB" "$T/acked.txt" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
ok = db.execute("PRAGMA integrity_check").fetchone()[0]
assert ok == "ok", f"integrity_check: {ok}"
last = dict(db.execute("SELECT device_id, max(seq) FROM (SELECT device_id, last_seq AS seq FROM agent_devices "
                      "UNION ALL SELECT device_id, seq FROM agent_checkin_log) GROUP BY device_id"))
logged = db.execute("SELECT count(*) FROM agent_checkin_log").fetchone()[0]
acked = [line.split() for line in open(sys.argv[2]) if line.strip()]
missing = [(d, s) for d, s in acked if last.get(d, 0) < int(s)]
assert not missing, f"{len(missing)} acknowledged check-ins lost, e.g. {missing[:5]}"
assert logged > 0, "no heartbeat was in the check-in log at the kill: the log path was not tested"
devices = db.execute("SELECT count(*) FROM devices WHERE managed = 1").fetchone()[0]
print(f"crash_test: {len(acked)} acknowledged check-ins all durable ({logged} rows in the check-in log);"
      f" {devices} managed devices; integrity ok")
PY

# Phase 2: the restarted server takes check-ins again (same devices, continuing seqs).
start_server
"$LOAD" --server "$URL" --devices 2000 --connections 32 --duration 3 --devices-file "$T/devices.txt" | tee "$T/load2.log"
grep -q "check-ins: [1-9]" "$T/load2.log" || { echo "crash_test: no check-ins after restart"; exit 1; }
# A clean stop: the log (the crashed run's, folded by the first batch, and this run's) is
# folded into agent_devices, which alone now holds every acknowledged seq.
kill "$SRV"; wait "$SRV" 2>/dev/null || true; SRV=""
python3 - "$DB" "$T/acked.txt" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
logged = db.execute("SELECT count(*) FROM agent_checkin_log").fetchone()[0]
assert logged == 0, f"{logged} check-in log rows left after a clean stop"
last = dict(db.execute("SELECT device_id, last_seq FROM agent_devices"))
acked = [line.split() for line in open(sys.argv[2]) if line.strip()]
behind = [(d, s) for d, s in acked if last.get(d, 0) < int(s)]
assert not behind, f"{len(behind)} acknowledged check-ins not folded into agent_devices, e.g. {behind[:5]}"
print("crash_test: the check-in log was folded into agent_devices (empty after a clean stop)")
PY
start_server

# Phase 3: enrolments (batched by the same writer) with a SIGKILL 1.5 s into them: every
# enrolment the generator saw acknowledged has its device and credential, and the secret
# counted exactly the enrolments that were committed.
cp "$T/devices.txt" "$T/devices3.txt"
"$LOAD" --server "$URL" --enroll-secret "$SECRET" --devices 12000 --connections 32 --duration 0 \
  --devices-file "$T/devices3.txt" >"$T/load3.log" 2>&1 &
LOADPID=$!
sleep 1.5
kill -9 "$SRV"
wait "$SRV" 2>/dev/null || true
SRV=""
wait "$LOADPID" || true
cat "$T/load3.log"
grep -q "enrol failed" "$T/load3.log" || { echo "crash_test: the kill did not land during the enrolments"; exit 1; }
start_server
kill "$SRV"; wait "$SRV" 2>/dev/null || true; SRV=""
python3 - "$DB" "$T/devices.txt" "$T/devices3.txt" <<'PY'
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
ok = db.execute("PRAGMA integrity_check").fetchone()[0]
assert ok == "ok", f"integrity_check: {ok}"
before = {l.split()[0] for l in open(sys.argv[2]) if l.strip()}
acked = [l.split()[:2] for l in open(sys.argv[3]) if l.strip() and l.split()[0] not in before]
assert acked, "no enrolment was acknowledged before the kill"
creds = dict(db.execute("SELECT credential_hash, device_id FROM agent_credentials"))
agents = {r[0] for r in db.execute("SELECT device_id FROM agent_devices")}
devices = {r[0] for r in db.execute("SELECT id FROM devices")}
lost = [d for d, c in acked
        if d not in agents or d not in devices or creds.get(hashlib.sha256(c.encode()).hexdigest()) != d]
assert not lost, f"{len(lost)} acknowledged enrolments lost, e.g. {lost[:5]}"
used = db.execute("SELECT sum(used) FROM agent_enroll_secrets").fetchone()[0]
assert used == len(agents), f"secret uses {used} != enrolled devices {len(agents)}"
print(f"crash_test: {len(acked)} acknowledged enrolments all durable; secret uses = {used} = enrolled devices")
PY
echo "crash_test: PASS"

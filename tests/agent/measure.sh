#!/usr/bin/env bash
# Measures fleetward-agent for docs/PERFORMANCE.md (## Agent): binary size (Release,
# stripped), peak RSS and CPU time of `facts` and of one full check-in (enrol + report,
# `run --once`) over http, https with a pinned CA, and https verified against the whole
# system bundle (/etc/ssl/certs/ca-certificates.crt with the test CA appended last, so every
# certificate in it is scanned) against tests/agent/stub_server.py.
# Baselines in the same run: dpkg-query listing the packages, curl POSTing the same report.
# Usage: tests/agent/measure.sh [BUILD_DIR]   (default build-agent-rel; builds only the agent)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-$SRC/build-agent-rel}
cmake -S "$SRC" -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFW_TESTS=OFF -DFW_BENCH=OFF >/dev/null 2>&1
cmake --build "$B" --target fleetward-agent -j2 >/dev/null
T=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
A=$T/fleetward-agent
strip -o "$A" "$B/src/agent/fleetward-agent"

measure() {  # label, setup (shell, run before each run, not measured), command...: 7 runs;
  # median peak RSS (GNU time), median CPU user+sys and median wall time. The command is run directly (no
  # shell around it: a shell's own resident pages would count, since the peak survives exec).
  local label=$1 setup=$2; shift 2
  # CPU comes from wait4 on /usr/bin/time, which includes its waited-for child (time itself
  # adds ~0.5 ms); RSS comes from time's own report, since a child forked from Python would
  # carry Python's resident size across exec.
  python3 - "$T/time.txt" "$label" "$setup" "$@" <<'PY'
import os, statistics, subprocess, sys, time
out, label, setup, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
cpu, rss, wall = [], [], []
for _ in range(7):
    if setup:
        subprocess.run(setup, shell=True, check=True)
    t0 = time.monotonic()
    p = subprocess.Popen(["/usr/bin/time", "-o", out, "-f", "%M"] + cmd,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall.append((time.monotonic() - t0) * 1000)
    if status != 0:
        sys.exit(f"{label}: exit status {status}: {p.stderr.read().decode()}")
    cpu.append((ru.ru_utime + ru.ru_stime) * 1000)
    rss.append(int(open(out).read().split()[-1]))
print(f"| {label} | {statistics.median(rss):,.0f} KB | {statistics.median(cpu):.1f} ms | {statistics.median(wall):.1f} ms |")
PY
}

start_stub() {  # port-file, [cert key]
  python3 "$SRC/tests/agent/stub_server.py" "$@" &
  PIDS+=($!)
  for _ in $(seq 50); do [ -s "$1" ] && break; sleep 0.1; done
}

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
start_stub "$T/http.port"
start_stub "$T/https.port" "$T/cert.pem" "$T/key.pem"
HTTP=http://127.0.0.1:$(cat "$T/http.port")
HTTPS=https://127.0.0.1:$(cat "$T/https.port")

cat "$(readlink -f /etc/ssl/certs/ca-certificates.crt)" "$T/cert.pem" > "$T/bundle.pem"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "system bundle: $(grep -c 'BEGIN CERTIFICATE' "$T/bundle.pem") certificates, $(stat -c %s "$T/bundle.pem") bytes"
echo "binary: $(stat -c %s "$A") bytes stripped ($(stat -c %s "$B/src/agent/fleetward-agent") unstripped)"
echo "packages on this machine: $(dpkg-query -W | wc -l); facts JSON: $("$A" facts --compact | wc -c) bytes"
"$A" facts --compact > "$T/facts.json"
python3 -c "import json,sys; f=json.load(open(sys.argv[1])); print(json.dumps({'protocol':1,'device_id':'d_bench','seq':1,'kind':'full','collected_at':'2026-01-01T00:00:00Z','facts':f,'command_results':[]}))" "$T/facts.json" > "$T/report.json"
echo "| what | peak RSS (median of 7) | CPU user+sys (median of 7) | wall (median of 7) |"
echo "|---|---|---|---|"
measure "fleetward-agent facts" "" "$A" facts --compact
measure "baseline: dpkg-query -W (package list only)" "" dpkg-query -W
measure "fleetward-agent run --once, http (enrol + full report)" "rm -rf $T/s1" \
  "$A" run --server "$HTTP" --enroll-secret x --state-dir "$T/s1" --once --insecure-http
measure "fleetward-agent run --once, https, pinned CA (enrol + full report)" "rm -rf $T/s2" \
  "$A" run --server "$HTTPS" --enroll-secret x --state-dir "$T/s2" --once --ca-file "$T/cert.pem"
measure "fleetward-agent run --once, https, system bundle + test CA (enrol + full report)" "rm -rf $T/s3" \
  "$A" run --server "$HTTPS" --enroll-secret x --state-dir "$T/s3" --once --ca-file "$T/bundle.pem"
measure "baseline: curl POST of the same report, https" "" \
  curl -s --cacert "$T/cert.pem" -H 'Content-Type: application/json' --data-binary @"$T/report.json" "$HTTPS/api/v1/agent/checkin"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

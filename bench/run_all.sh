#!/usr/bin/env bash
# Every figure of docs/PERFORMANCE.md in one sequential run, for a quiet machine: each
# benchmark's own command (the one its section names), one after the other, each with the
# load average before it, its output in OUT_DIR/<name>.log and a one-line summary of wall
# time on stdout. Nothing here interprets figures: read the logs into the sections.
# Usage: bench/run_all.sh [BUILD_DIR] [OUT_DIR] [NAME...]
#   BUILD_DIR: a Release build of everything (default build-rel; configured and built here).
#   OUT_DIR:   where the logs go (default /tmp/fw-bench-results).
#   NAME...:   only these (cel store classify discover policy checkin agent dashboard).
# Expensive inputs are kept between runs: the 1 GiB log (/tmp/fw-bench-1073741824.log), the
# 1,000,000-device policy database (/tmp/fw-bench-policy-1m) and the 100,000-device demo
# (/tmp/fw-bench-dashboard-100k). Delete them to measure their creation again.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$SRC/build-rel}
OUT=${2:-/tmp/fw-bench-results}
shift $(( $# > 2 ? 2 : $# ))
WANT=" ${*:-cel store classify discover policy checkin agent dashboard} "
mkdir -p "$OUT"
cd "$SRC"

cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j2 >/dev/null

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/{print $2}') GiB;" \
  "commit $(git rev-parse --short HEAD); $(date -u +%FT%TZ)" | tee "$OUT/machine.txt"

run() {  # name, command... ; skipped unless wanted
  local name=$1; shift
  [[ "$WANT" == *" $name "* ]] || return 0
  local t0 load
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  t0=$(date +%s)
  if "$@" > "$OUT/$name.log" 2>&1; then
    echo "$name: ok, $(( $(date +%s) - t0 )) s, load before: $load -> $OUT/$name.log"
  else
    echo "$name: FAILED (exit $?), $(( $(date +%s) - t0 )) s, load before: $load -> $OUT/$name.log"
  fi
}

pg_store_bench() {
  local url
  url=$(FW_PG_DIR=/tmp/fw-bench-pg FW_PG_PORT=54349 scripts/pg-test-server.sh start | sed 's/^export FW_TEST_PG_URL=//')
  "$B/bench/store/store_bench" --pg "$url"
  local rc=$?
  FW_PG_DIR=/tmp/fw-bench-pg scripts/pg-test-server.sh stop
  return $rc
}

policy_bench() {
  # The goal is for a warm page cache: the store benchmark before it evicts the 3.5 GB file.
  cat /tmp/fw-bench-policy-1m/*.db > /dev/null 2>&1 || true
  "$B/bench/policy/policy_bench" --sqlite-only --no-scratch --keep --dir /tmp/fw-bench-policy-1m \
    --devices 1000000 --people 300000
}

dashboard_perf() {
  (cd tests/web && [ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null)
  node tests/web/perf.mjs --fleetward "$B/src/cli/fleetward" --devices 100000 --runs 5 \
    --keep /tmp/fw-bench-dashboard-100k
}

run cel       "$B/bench/cel/cel_bench" --benchmark_repetitions=5
run store     pg_store_bench
run classify  "$B/bench/detect/detect_classify_bench"
run discover  bench/detect/run_discover_bench.sh "$B"
run policy    policy_bench
run checkin   bench/checkin_load/run.sh "$B" 100000
run agent     tests/agent/measure.sh "$SRC/build-agent-rel"
run dashboard dashboard_perf

#!/usr/bin/env bash
# Benchmark (b) of issue 5: `fleetward discover --dry-run` over a 1 GB synthetic combined
# log, beside `wc -l` over the same file in the same run, with peak memory.
# Usage: bench/detect/run_discover_bench.sh BUILD_DIR [BYTES]
#   BUILD_DIR holds src/cli/fleetward and bench/detect/fw_gen_log (a Release build).
set -euo pipefail
build=${1:?usage: run_discover_bench.sh BUILD_DIR [BYTES]}
bytes=${2:-1073741824}
log=${TMPDIR:-/tmp}/fw-bench-$bytes.log
if [ ! -s "$log" ]; then "$build/bench/detect/fw_gen_log" "$bytes" > "$log"; fi
cat "$log" > /dev/null  # warm the page cache for both runs
t0=$(date +%s.%N); /usr/bin/time -f "%U %S" -o /tmp/fw-bench-wc.time wc -l < "$log" > /tmp/fw-bench-wc.out; t1=$(date +%s.%N)
lines=$(cat /tmp/fw-bench-wc.out)
/usr/bin/time -v "$build/src/cli/fleetward" discover --dry-run --no-progress "$log" > /tmp/fw-bench-discover.out 2> /tmp/fw-bench-discover.time
t2=$(date +%s.%N)
python3 - "$lines" "$bytes" "$t0" "$t1" "$t2" <<'PY'
import re, sys
lines, size, t0, t1, t2 = int(sys.argv[1]), int(sys.argv[2]), *map(float, sys.argv[3:])
wc, disc = t1 - t0, t2 - t1
rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open("/tmp/fw-bench-discover.time").read())
print(f"lines {lines}, bytes {size}")
print(f"wc -l:     {wc:.2f} s  {lines / wc / 1e6:.2f} M lines/s  {size / wc / 1e6:.0f} MB/s")
print(f"discover:  {disc:.2f} s  {lines / disc / 1e6:.2f} M lines/s  {size / disc / 1e6:.0f} MB/s")
print(f"ratio discover/wc: {disc / wc:.2f}x; peak RSS {int(rss.group(1)) / 1024:.0f} MB" if rss else "no RSS")
# CPU time (user+sys): on a shared, loaded machine wall time includes waiting for a core.
t = open("/tmp/fw-bench-discover.time").read()
cpu = float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1)) + float(re.search(r"System time \(seconds\): ([\d.]+)", t).group(1))
wcu = sum(map(float, open("/tmp/fw-bench-wc.time").read().split()))
print(f"CPU time: wc -l {wcu:.2f} s, discover {cpu:.2f} s = {lines / cpu / 1e6:.2f} M lines/s, {size / cpu / 1e6:.0f} MB/s; ratio {cpu / max(wcu, 1e-3):.2f}x")
PY
tail -3 /tmp/fw-bench-discover.out

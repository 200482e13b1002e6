#!/usr/bin/env bash
# Benchmark (b) of issue 5: `fleetward discover --dry-run` over a 1 GB synthetic combined
# log, beside `wc -l` over the same file in the same run, with peak memory. Runs wc -l,
# discover on one thread, discover on two threads (the default), and wc -l again; prints
# wall and CPU time of each, the rates, the ratios to wc -l and the load average.
# Then ROUNDS (default 5) paired rounds of `wc -l` and 2-thread discover back to back, in
# alternating order, wall time by clock_gettime: this VM's own speed moves by up to ~25%
# from one second to the next, so a ratio of two runs is only fair when they ran together;
# prints each round's ratio and their median and worst.
# Usage: [REF_BUILD=DIR] bench/detect/run_discover_bench.sh BUILD_DIR [BYTES] [ROUNDS]
#   BUILD_DIR holds src/cli/fleetward and bench/detect/fw_gen_log (a Release build).
#   REF_BUILD: another build whose summary must be byte for byte the same (checked once).
set -euo pipefail
build=${1:?usage: run_discover_bench.sh BUILD_DIR [BYTES]}
bytes=${2:-1073741824}
rounds=${3:-5}
log=${TMPDIR:-/tmp}/fw-bench-$bytes.log
out=$(mktemp -d "${TMPDIR:-/tmp}/fw-bench-discover.XXXXXX")
trap 'rm -rf "$out"' EXIT
if [ ! -s "$log" ]; then "$build/bench/detect/fw_gen_log" "$bytes" > "$log"; fi
cat "$log" > /dev/null  # warm the page cache for every run
# The classifier's parsed rules, Hyperscan database and rule modes are cached in
# ~/.cache/fleetward on first use; one small run makes sure that is not timed.
head -c 100000 "$log" | "$build/src/cli/fleetward" discover --dry-run --no-progress - > /dev/null
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
run() {  # name, command...: wall user sys maxrss_kb -> $out/name.time, stdout -> $out/name.out
  local name=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$out/$name.time" "$@" > "$out/$name.out"
}
run wc1 wc -l "$log"
run one "$build/src/cli/fleetward" discover --dry-run --no-progress --threads 1 "$log"
run two "$build/src/cli/fleetward" discover --dry-run --no-progress "$log"
run wc2 wc -l "$log"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cmp -s "$out/one.out" "$out/two.out" || { echo "one and two threads disagree:"; diff "$out/one.out" "$out/two.out"; exit 1; }
if [ -n "${REF_BUILD:-}" ]; then
  "$REF_BUILD/src/cli/fleetward" discover --dry-run --no-progress "$log" > "$out/ref.out"
  cmp -s "$out/ref.out" "$out/two.out" || { echo "$REF_BUILD's summary differs:"; diff "$out/ref.out" "$out/two.out"; exit 1; }
  echo "summary byte for byte $REF_BUILD's"
fi
lines=$(cut -d' ' -f1 "$out/wc1.out")
python3 - "$out" "$lines" "$(stat -c %s "$log")" "$load_before" "$load_after" <<'PY'
import sys
out, lines, size, lb, la = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
def t(name):
    wall, user, sys_, rss = open(f"{out}/{name}.time").read().split()[-4:]
    return float(wall), float(user) + float(sys_), int(rss)
wc = [t("wc1"), t("wc2")]
wc_wall = min(w for w, _, _ in wc); wc_cpu = min(c for _, c, _ in wc)
print(f"file: {size} bytes, {lines} lines; load average before {lb}, after {la}")
print(f"{'':24} {'wall s':>7} {'CPU s':>7} {'M lines/s wall':>15} {'M lines/s CPU':>14} {'MB/s wall':>10} {'x wc wall':>10} {'x wc CPU':>9} {'peak RSS MB':>12}")
print(f"{'wc -l (best of 2)':24} {wc_wall:7.2f} {wc_cpu:7.2f} {lines/wc_wall/1e6:15.2f} {lines/wc_cpu/1e6:14.2f} {size/wc_wall/1e6:10.0f} {1:10.2f} {1:9.2f}")
for name, label in (("one", "discover, 1 thread"), ("two", "discover, 2 threads")):
    w, c, rss = t(name)
    print(f"{label:24} {w:7.2f} {c:7.2f} {lines/w/1e6:15.2f} {lines/c/1e6:14.2f} {size/w/1e6:10.0f} {w/wc_wall:10.2f} {c/wc_cpu:9.2f} {rss/1024:12.0f}")
PY
tail -3 "$out/two.out"
# Paired rounds: "wc disc" then "disc wc", alternating; start and end times of each run.
now() { date +%s.%N; }
pairs=()
for ((r = 1; r <= rounds; ++r)); do
  for what in $( ((r % 2)) && echo "wc disc" || echo "disc wc"); do
    t0=$(now)
    if [ "$what" = wc ]; then wc -l "$log" > /dev/null
    else "$build/src/cli/fleetward" discover --dry-run --no-progress "$log" > /dev/null 2>&1; fi
    t1=$(now)
    printf -v "t_$what" '%s' "$t0,$t1"
  done
  pairs+=("$t_wc $t_disc")
done
python3 - "$(cut -d' ' -f1-3 /proc/loadavg)" "${pairs[@]}" <<'PY'
import statistics, sys
def span(t):
    a, b = map(float, t.split(","))
    return b - a
load, pairs = sys.argv[1], [tuple(span(t) for t in p.split()) for p in sys.argv[2:]]
if not pairs: sys.exit(0)
print(f"paired rounds (wc -l and discover 2 threads back to back, alternating order), wall s; load average after {load}")
ratios = []
for i, (w, d) in enumerate(pairs, 1):
    ratios.append(d / w)
    print(f"  round {i}: wc -l {w:.3f}  discover {d:.3f}  ratio {d / w:.2f}x")
print(f"PAIRED RATIO (discover / wc -l, wall): median {statistics.median(ratios):.2f}x, worst {max(ratios):.2f}x, best {min(ratios):.2f}x over {len(ratios)} rounds")
PY

#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to every test: installs what fleetward needs,
# builds it, starts a private PostgreSQL on 127.0.0.1, runs each fuzz target for a bounded,
# repeatable stretch (FW_FUZZ_RUNS inputs from a fixed seed, default 100000, at most
# FW_FUZZ_SECONDS, default 60; FW_FUZZ_RUNS=0 skips), then every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
scripts/install-deps.sh

echo "== build"
scripts/build.sh

echo "== services"
eval "$(scripts/pg-test-server.sh start)"
export FW_TEST_PG_URL
trap '"$ROOT/scripts/pg-test-server.sh" stop' EXIT

FUZZ_SECONDS=${FW_FUZZ_SECONDS:-60}
FUZZ_RUNS=${FW_FUZZ_RUNS:-100000}
if [ "$FUZZ_RUNS" != 0 ] && [ -d fuzz ] && ls fuzz/*/CMakeLists.txt >/dev/null 2>&1; then
  echo "== fuzz (${FUZZ_RUNS} inputs, seed 1, at most ${FUZZ_SECONDS}s per target)"
  if [ ! -f build-fuzz/build.ninja ]; then
    cmake -S . -B build-fuzz -G Ninja -DFW_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_COMPILER=clang++-16 >/dev/null
  fi
  cmake --build build-fuzz
  mkdir -p build/test-artifacts/fuzz
  for t in $(find build-fuzz/fuzz -type f -executable -not -path '*/CMakeFiles/*' | sort); do
    name=$(basename "$t")                      # e.g. detect_logline_fuzz
    area=$(basename "$(dirname "$t")")         # e.g. detect
    part=${name#"${area}_"}; part=${part%_fuzz}
    work=build/test-artifacts/fuzz/$name       # new inputs go here, never into the repo
    mkdir -p "$work"
    args=(-seed=1 -runs="$FUZZ_RUNS" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -max_len=4096
          -artifact_prefix="$work/")
    for d in fuzz/$area/*.dict; do [ -f "$d" ] && args+=(-dict="$d"); done
    seeds=()
    for c in "fuzz/$area/corpus" "fuzz/$area/corpus_$part"; do [ -d "$c" ] && seeds+=("$c"); done
    echo "-- $name"
    if ! "$t" "${args[@]}" "$work" "${seeds[@]}" >"$work.log" 2>&1; then
      tail -n 40 "$work.log"
      echo "fuzz target $name failed" >&2
      exit 1
    fi
    grep -E '^Done' "$work.log" | tail -n 1 || true
  done
fi

echo "== tests"
# The command line answers in the language of --lang, $FLEETWARD_LANG, the organisation, then the
# locale; tests that expect English text must not depend on the machine's locale.
export LC_ALL=C.UTF-8
unset FLEETWARD_LANG
cd build
ctest --output-on-failure -j2 --timeout 900

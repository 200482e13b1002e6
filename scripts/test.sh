#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to every test: installs what fleetward needs,
# builds it, starts a private PostgreSQL on 127.0.0.1, runs the fuzz targets for a bounded
# time (FW_FUZZ_SECONDS each, default 30; 0 skips), then every test with ctest.
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

FUZZ_SECONDS=${FW_FUZZ_SECONDS:-30}
if [ "$FUZZ_SECONDS" != 0 ] && [ -d fuzz ] && ls fuzz/*/CMakeLists.txt >/dev/null 2>&1; then
  echo "== fuzz (${FUZZ_SECONDS}s per target)"
  if [ ! -f build-fuzz/build.ninja ]; then
    cmake -S . -B build-fuzz -G Ninja -DFW_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_COMPILER=clang++-16 >/dev/null
  fi
  cmake --build build-fuzz
  mkdir -p build/test-artifacts/fuzz
  for t in $(find build-fuzz/fuzz -type f -executable -not -path '*/CMakeFiles/*' | sort); do
    name=$(basename "$t")
    corpus=build/test-artifacts/fuzz/$name
    mkdir -p "$corpus"
    seeds=()
    [ -d "fuzz/seeds/$name" ] && seeds=("fuzz/seeds/$name")
    echo "-- $name"
    if ! "$t" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
         -artifact_prefix="$corpus/" "$corpus" "${seeds[@]}" >"$corpus.log" 2>&1; then
      tail -n 40 "$corpus.log"
      echo "fuzz target $name failed" >&2
      exit 1
    fi
    grep -E '^(Done|#[0-9]+.*DONE)' "$corpus.log" | tail -n 1 || true
  done
fi

echo "== tests"
cd build
ctest --output-on-failure -j2 --timeout 900

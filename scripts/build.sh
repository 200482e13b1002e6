#!/usr/bin/env bash
# Configures and builds fleetward into ${FW_BUILD_DIR:-build}. Extra arguments are targets.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${FW_BUILD_DIR:-build}
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=${FW_BUILD_TYPE:-RelWithDebInfo} >/dev/null
fi
if [ $# -gt 0 ]; then
  cmake --build "$BUILD" --target "$@"
else
  cmake --build "$BUILD"
fi

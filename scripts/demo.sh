#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running demo: installs what fleetward
# needs, builds it, and runs `fleetward demo` (arguments are passed on, e.g. --devices 5000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh fleetward
exec build/src/cli/fleetward demo "$@"

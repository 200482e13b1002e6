#!/usr/bin/env bash
# Installs everything fleetward needs to build, test and run on Debian 12.
# Safe to run again: packages already present are left alone (apt no-op),
# npm packages are installed from the lock files only when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PKGS=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev sqlite3 libpq-dev libyaml-cpp-dev libre2-dev libhyperscan-dev
  libssl-dev libcurl4-openssl-dev libmbedtls-dev zlib1g-dev libcli11-dev libspdlog-dev libfmt-dev libxxhash-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-16 libclang-rt-16-dev
  postgresql nginx-light chromium chromium-driver
  ca-certificates curl tzdata
)

# Node.js and npm: this machine kind ships them; install Debian's only when absent
# (Debian's npm conflicts with a vendor-packaged nodejs that bundles npm).
command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: Debian packages already installed"
fi

# npm packages (pinned by package-lock.json): uap-core rules, dashboard build and browser tests.
if [ -f third_party/npm/package.json ] && [ ! -d third_party/npm/node_modules ]; then
  (cd third_party/npm && npm ci --no-audit --no-fund --loglevel=error)
fi

# playwright-core for the dashboard's browser tests (tests/web); it drives Debian's
# /usr/bin/chromium and never downloads a browser.
if [ -f tests/web/package.json ] && [ ! -f tests/web/node_modules/playwright-core/package.json ]; then
  (cd tests/web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

# uap-core User-Agent rules for src/detect (regexes.yaml), pinned by third_party/uap-core/package-lock.json.
if [ -f third_party/uap-core/package.json ] && [ ! -f third_party/uap-core/node_modules/uap-core/regexes.yaml ]; then
  (cd third_party/uap-core && npm ci --no-audit --no-fund --loglevel=error)
fi

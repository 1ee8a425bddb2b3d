#!/usr/bin/env bash
# Installs every Debian package zhttpd's build, tests, fuzzers and benchmarks need.
# Idempotent: does nothing when all packages are present. `--check` only reports (exit 1 if missing).
set -euo pipefail

PACKAGES=(
  g++ make pkg-config
  libev-dev libboost-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libhttp-parser-dev
  clang libclang-rt-14-dev
  media-types curl
  nginx wrk # scripts/bench-e2e.sh
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
  echo "missing packages: ${missing[*]}" >&2
  exit 1
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Installs every Debian package zhttpd's build, tests, fuzzers and benchmarks need.
# Idempotent: does nothing when all packages are present. `--check` only reports (exit 1 if
# missing). `--bench` adds nginx and haproxy for scripts/bench-e2e.sh and valgrind (callgrind) for
# scripts/bench-instructions.sh: not for the build or CI, since installing nginx also starts its
# service on port 80. (wrk is needed by the reload tests too.)
set -euo pipefail

check_only=0
bench=0
for arg in "$@"; do
  case $arg in
    --check) check_only=1 ;;
    --bench) bench=1 ;;
    *) echo "usage: $0 [--check] [--bench]" >&2; exit 2 ;;
  esac
done

PACKAGES=(
  g++ make pkg-config
  libev-dev libboost-dev libcli11-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libhttp-parser-dev
  nlohmann-json3-dev libncurses-dev libfmt-dev
  clang libclang-rt-14-dev
  media-types curl wrk
  brotli chromium  # the demo site's .br variants (scripts/build-www.sh); its browser test
  python3 gunicorn python3-websockets  # the proxy tests' backends (tests/integration/backends)
)
if ((bench)); then PACKAGES+=(nginx haproxy valgrind); fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if ((check_only)); then
  echo "missing packages: ${missing[*]}" >&2
  exit 1
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Installs the Debian packages ckptdoctor builds with, then configures and builds it.
# Usage: scripts/setup.sh [BUILD_DIR]   (default: build). Safe to re-run.
# CKPTDOCTOR_EXTRA_PACKAGES adds Debian packages; CKPTDOCTOR_CMAKE_ARGS adds configure flags.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}

packages=(g++ cmake ninja-build pkg-config nlohmann-json3-dev libfmt-dev libcli11-dev libre2-dev doctest-dev
          libcurl4-openssl-dev
          ${CKPTDOCTOR_EXTRA_PACKAGES:-})
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  # RUNLEVEL=1: packages with daemons (nginx, for the tests) are installed, not started.
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${CKPTDOCTOR_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j "$(nproc)"

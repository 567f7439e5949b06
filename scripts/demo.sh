#!/usr/bin/env bash
# One command on a fresh machine: install dependencies, build, and scan the bundled demo
# checkpoint (fixtures/demo, deliberately broken). Exits with the scan's exit code (1: defects).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build >&2
exec build/ckptdoctor scan fixtures/demo "$@"

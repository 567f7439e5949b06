#!/usr/bin/env bash
# Creates .venv with the Python packages used only by test oracles and benchmark baselines
# (never by the product). Usage: scripts/setup-venv.sh   (prints the venv's python path)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv >&2
fi
.venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements.txt >&2
echo "$PWD/.venv/bin/python"

#!/usr/bin/env bash
# Creates the venv the oracle generators run in (scripts/make_bnb_fixtures.py,
# scripts/make_oracle_producers.py): torch and transformers with the producers that run on the CPU
# from PyPI (bitsandbytes, GPTQModel, auto-round, AMD Quark) at the versions pinned in
# requirements-oracles.txt. Large like the producers venv (torch from PyPI brings its nvidia-* CUDA
# wheels); GPTQModel pins numpy 2.2.6, which is why it is not the same venv as
# setup-producers-venv.sh's. Needed only to regenerate those fixtures; the tests read the
# committed files.
# Usage: scripts/setup-oracles-venv.sh   (prints the venv's python path)
# CKPTDOCTOR_ORACLES_VENV overrides where it goes (default /work/venv-oracles).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${CKPTDOCTOR_ORACLES_VENV:-/work/venv-oracles}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
"$venv/bin/pip" install -q --disable-pip-version-check -r scripts/requirements-oracles.txt >&2
echo "$venv/bin/python"

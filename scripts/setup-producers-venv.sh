#!/usr/bin/env bash
# Creates the venv scripts/make_real_fixtures.py runs in: torch, transformers, llmcompressor /
# compressed-tensors and NVIDIA modelopt at the versions pinned in requirements-producers.txt.
# It is large (torch from PyPI brings its nvidia-* CUDA wheels, about 8 GB) and is needed only to
# regenerate fixtures/producers/; the tests read the committed files and need none of it.
# Usage: scripts/setup-producers-venv.sh   (prints the venv's python path)
# CKPTDOCTOR_PRODUCERS_VENV overrides where it goes (default /work/venv-producers, outside any
# worktree so several checkouts share one copy).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${CKPTDOCTOR_PRODUCERS_VENV:-/work/venv-producers}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
"$venv/bin/pip" install -q --disable-pip-version-check -r scripts/requirements-producers.txt >&2
echo "$venv/bin/python"

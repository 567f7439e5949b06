#!/usr/bin/env bash
# Creates the venv scripts/make_bnb_mlx_fixtures.py runs in: mlx with its Linux CPU backend
# (mlx[cpu]) and numpy / safetensors, at the versions pinned in requirements-bnb-mlx.txt (small:
# no torch). Needed only to regenerate fixtures/compare/mlx-* and the bnb / mlx specs (bnb-* come
# from scripts/make_bnb_fixtures.py, see setup-oracles-venv.sh); the tests read the committed files.
# Usage: scripts/setup-bnb-mlx-venv.sh   (prints the venv's python path)
# CKPTDOCTOR_BNB_MLX_VENV overrides where it goes (default /work/venv-bnb).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${CKPTDOCTOR_BNB_MLX_VENV:-/work/venv-bnb}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
"$venv/bin/pip" install -q --disable-pip-version-check -r scripts/requirements-bnb-mlx.txt >&2
echo "$venv/bin/python"

#!/usr/bin/env bash
# Creates the venv scripts/make_sparse24_fixtures.py runs in: compressed-tensors 0.14.0.1, the
# last release with the sparse-24-bitmask compressor (0.15 removed sparsity), on top of the
# producers venv's torch / transformers (scripts/setup-producers-venv.sh), which a .pth file
# puts on the path after this venv's own packages. Needed only to regenerate the sparse
# fixtures; the tests read the committed files.
# Usage: scripts/setup-sparse24-venv.sh   (prints the venv's python path)
set -euo pipefail
cd "$(dirname "$0")/.."
producers_python="$(scripts/setup-producers-venv.sh)"
producers_site="$("$producers_python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
venv="${CKPTDOCTOR_SPARSE24_VENV:-/work/venv-sparse24}"
if [ ! -x "$venv/bin/python" ]; then
  "$producers_python" -m venv "$venv" >&2
fi
"$venv/bin/pip" install -q --disable-pip-version-check --no-deps -r scripts/requirements-sparse24.txt >&2
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$producers_site" > "$site/zz-producers.pth"
echo "$venv/bin/python"

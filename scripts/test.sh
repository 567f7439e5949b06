#!/usr/bin/env bash
# One command on a fresh machine: install dependencies, build with warnings as errors, fuzz the
# header and index parsers briefly (when clang is there), make the Python venv of the test
# oracles, build and run the wheel, then run all tests (unit, fixture specs, CLI). The last line
# is ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
# clang and its sanitizer/fuzzer runtimes build the fuzz targets; nginx serves the remote-scan
# tests on loopback; chromium looks at the compare HTML page (tests/compare_html_browser.sh);
# python3-dev: the headers the wheel's Python module (nanobind) builds against.
CKPTDOCTOR_EXTRA_PACKAGES="clang libclang-rt-dev python3 python3-venv python3-dev nginx chromium" \
  CKPTDOCTOR_CMAKE_ARGS="-DCKPTDOCTOR_WERROR=ON -DCKPTDOCTOR_DEBUG_INFO=OFF ${CKPTDOCTOR_CMAKE_ARGS:-}" scripts/setup.sh build

if command -v clang++ >/dev/null 2>&1 && [ "${CKPTDOCTOR_SKIP_FUZZ:-0}" != 1 ]; then
  echo "fuzz: building the parsers with libFuzzer, ASan and UBSan (log: build-fuzz/build.log)"
  mkdir -p build-fuzz
  if ! { CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
           -DCKPTDOCTOR_FUZZ=ON -DCKPTDOCTOR_TESTS=OFF -DCKPTDOCTOR_CUDA=OFF && cmake --build build-fuzz --target fuzz_header fuzz_index; } \
         >build-fuzz/build.log 2>&1; then
    tail -n 30 build-fuzz/build.log
    exit 1
  fi
  mkdir -p build-fuzz/corpus-header build-fuzz/corpus-index
  for f in fixtures/real/safetensors/*/*.safetensors; do  # seeds: every real file, uniquely named
    cp "$f" "build-fuzz/corpus-header/$(basename "$(dirname "$f")")-$(basename "$f")"
  done
  cp fixtures/real/safetensors/jl-sharded/model.safetensors.index.json build-fuzz/corpus-index/
  for target in header index; do
    build-fuzz/fuzz_$target -max_total_time="${CKPTDOCTOR_FUZZ_SECONDS:-20}" -max_len=65536 \
      "build-fuzz/corpus-$target" >"build-fuzz/fuzz_$target.log" 2>&1 || { tail -n 40 "build-fuzz/fuzz_$target.log"; exit 1; }
    echo "fuzz: $target: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "build-fuzz/fuzz_$target.log")"
  done
fi

# The reference safetensors implementation checks fix's output (tests/fix_oracle.py), and the
# SARIF/JUnit readers the CI formats (tests/report_formats_check.py).
echo "venv: $(scripts/setup-venv.sh)"
# pip install . must build, install and run (scikit-build-core; CPU build).
if [ "${CKPTDOCTOR_SKIP_WHEEL:-0}" != 1 ]; then tests/wheel_test.sh; fi

ctest --test-dir build --output-on-failure -j 2

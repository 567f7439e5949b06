#!/usr/bin/env bash
# One command on a fresh machine: install dependencies, build with warnings as errors, run all
# tests (unit, fixture specs, CLI), then a short libFuzzer run of the parsers when clang is there.
set -euo pipefail
cd "$(dirname "$0")/.."
CKPTDOCTOR_CMAKE_ARGS="-DCKPTDOCTOR_WERROR=ON ${CKPTDOCTOR_CMAKE_ARGS:-}" scripts/setup.sh build
ctest --test-dir build --output-on-failure -j 2

if command -v clang++ >/dev/null 2>&1 && [ "${CKPTDOCTOR_SKIP_FUZZ:-0}" != 1 ]; then
  echo "fuzz: building the parsers with libFuzzer, ASan and UBSan" >&2
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCKPTDOCTOR_FUZZ=ON -DCKPTDOCTOR_CUDA=OFF >/dev/null
  cmake --build build-fuzz --target fuzz_header fuzz_index >&2
  mkdir -p build-fuzz/corpus-header build-fuzz/corpus-index
  for f in fixtures/real/safetensors/*/*.safetensors; do  # seeds: every real file, uniquely named
    cp "$f" "build-fuzz/corpus-header/$(basename "$(dirname "$f")")-$(basename "$f")"
  done
  cp fixtures/real/safetensors/jl-sharded/model.safetensors.index.json build-fuzz/corpus-index/ 2>/dev/null || true
  build-fuzz/fuzz_header -max_total_time="${CKPTDOCTOR_FUZZ_SECONDS:-20}" -max_len=65536 build-fuzz/corpus-header \
    2>&1 | tail -n 2
  build-fuzz/fuzz_index -max_total_time="${CKPTDOCTOR_FUZZ_SECONDS:-20}" -max_len=65536 build-fuzz/corpus-index \
    2>&1 | tail -n 2
fi

#!/usr/bin/env bash
# Configs at hostile sizes (issue 10 #13, #14), each on a small healthy checkpoint:
#   mixed: a 6.8 MB modelopt MIXED_PRECISION hf_quant_config.json (47,092 quantized_layers);
#          `ckptdoctor scan`, and `ckptdoctor fix --strip-prefix` (which edits the config as
#          ordered JSON);
#   globs: 200,000 ignore globs in 8 MB of config.json; `ckptdoctor scan`.
# Prints wall time, CPU seconds (user + sys) and peak RSS from /usr/bin/time -v for each; the
# CPU figure is the one to compare on a shared machine.
# Usage: bench/configs.sh [BUILD_DIR]   (default build; writes under bench/out/)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=bench/out/configs-$(echo "$build" | tr -c "a-zA-Z0-9\n" _)
rm -rf "$out" && mkdir -p "$out"
"$build/ckptdoctor-fixture" build fixtures/specs/base-modelopt-nvfp4.json "$out/mixed" >/dev/null
python3 bench/make_config_bench.py mixed "$out/mixed"
"$build/ckptdoctor-fixture" build fixtures/specs/base-fp8-block.json "$out/globs" >/dev/null
python3 bench/make_config_bench.py globs "$out/globs"

measure() {  # NAME COMMAND...: wall and CPU (user + sys) seconds, peak RSS
  local name=$1
  shift
  local log="$out/time-$(echo "$name" | tr -c 'a-zA-Z0-9\n' _).txt"
  /usr/bin/time -v "$@" >/dev/null 2>"$log" || true
  awk -F': ' -v name="$name" '
    /Elapsed \(wall clock\)/ {wall = $2}
    /User time/ {cpu += $2}
    /System time/ {cpu += $2}
    /Maximum resident set size/ {rss = $2}
    END {printf "%-34s wall %8s  cpu %7.2f s  peak RSS %8.1f MiB\n", name, wall, cpu, rss / 1024}' "$log"
}
echo "hf_quant_config.json: $(stat -c %s "$out/mixed/hf_quant_config.json") bytes;" \
  "config.json with globs: $(stat -c %s "$out/globs/config.json") bytes"
measure "scan (47k quantized_layers)" "$build/ckptdoctor" scan -q --fail-on never "$out/mixed"
measure "fix --strip-prefix (47k layers)" "$build/ckptdoctor" fix "$out/mixed" \
  --strip-prefix model. -o "$out/mixed-fixed"
measure "scan (200k ignore globs)" "$build/ckptdoctor" scan -q --fail-on never "$out/globs"

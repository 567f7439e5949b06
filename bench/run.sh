#!/usr/bin/env bash
# Benchmarks for `ckptdoctor scan`, each against a baseline measured in the same run:
#   1. header scan of a full-size sparse Qwen3.6-35B-A3B-FP8-shaped checkpoint (62k tensors)
#      vs bench/parse_headers.py (json.loads of every header + dtype histogram);
#   2. --deep over a dense (random bytes) checkpoint vs `cat` of the same page-cached files.
# Usage: bench/run.sh [RUNS]   (needs build/ from scripts/setup.sh; writes under bench/out/)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
out=bench/out
mkdir -p "$out"
bin=build/ckptdoctor
tool=build/ckptdoctor-fixture

fmt2() { python3 -c "print(f'{$1:.2f}')"; }
. bench/common.sh

sparse=$out/qwen36-35b-a3b-fp8-sparse
if [ ! -f "$sparse/model.safetensors.index.json" ]; then
  echo "generating $sparse" >&2
  "$tool" bench-moe "$sparse" >&2
fi
tensors=$(python3 -c "import json;print(len(json.load(open('$sparse/model.safetensors.index.json'))['weight_map']))")
apparent=$(du -s --apparent-size --block-size=1 "$sparse" | cut -f1)
cat "$sparse"/*.safetensors >/dev/null  # warm the page cache for both sides

read -r t_scan c_scan t_py c_py < <(interleaved "$runs" -- "$bin scan -q --fail-on never $sparse" \
  -- "python3 bench/parse_headers.py $sparse")
echo "header scan: $tensors tensors, $apparent apparent bytes (medians of $runs interleaved runs)"
echo "  ckptdoctor scan (all rules, headers + scale bytes): ${t_scan}s wall, ${c_scan}s cpu"
echo "  python json header parse + histogram:              ${t_py}s wall, ${c_py}s cpu"
echo "  speedup: $(fmt2 "$t_py / $t_scan")x wall, $(fmt2 "$c_py / $c_scan")x cpu (target >= 2x)"

dense=$out/moe-dense
if [ ! -f "$dense/model.safetensors.index.json" ]; then
  echo "generating $dense (random weights)" >&2
  "$tool" bench-moe "$dense" --layers 2 --shards 4 --dense >&2
fi
bytes=$(du -s --apparent-size --block-size=1 "$dense" | cut -f1)
cat "$dense"/*.safetensors >/dev/null
read -r t_cat _ t_deep _ < <(interleaved "$runs" -- "cat $dense/*.safetensors > /dev/null" \
  -- "$bin scan -q --fail-on never --deep --select data $dense")
gbps() { fmt2 "$bytes / $1 / 1e9"; }
echo "deep read: $bytes bytes, page-cached"
echo "  cat:                      ${t_cat}s ($(gbps "$t_cat") GB/s)"
echo "  ckptdoctor scan --deep:   ${t_deep}s ($(gbps "$t_deep") GB/s)"
echo "  throughput vs cat: $(fmt2 "$t_cat / $t_deep")x (target >= 0.7x)"

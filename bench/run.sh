#!/usr/bin/env bash
# Benchmarks for `ckptdoctor scan`, each against a baseline measured in the same run:
#   1. header scan of a full-size sparse Qwen3.6-35B-A3B-FP8-shaped checkpoint (62k tensors)
#      vs bench/parse_headers.py (json.loads of every header + dtype histogram) and
#      bench/safetensors_dtypes.py (the safetensors library), with wall, CPU and peak RSS;
#   2. --deep over a dense (random bytes) checkpoint vs `cat` of the same page-cached files.
# Usage: bench/run.sh [RUNS] [--headers-only]   (needs build/ from scripts/setup.sh; writes under
# bench/out/; --headers-only skips the --deep part and its 3.7 GB dense checkpoint)
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

# Four rows, alternately in one run: the scan (both cores, then one), the Python json parse and
# the safetensors library (Rust) reading every tensor's dtype.
st_python=.venv/bin/python
[ -x "$st_python" ] || st_python=python3
# The interpreter itself, not a version manager's shim (a pyenv shim is a bash script that runs
# pyenv before exec'ing Python): the baseline is Python's own cost.
py=$(python3 -c 'import sys; print(sys.executable)')
mapfile -t rows < <(interleaved_rows "$runs" "$bin scan -q --fail-on never $sparse" \
  "$bin scan -q --fail-on never --threads 1 $sparse" "$py bench/parse_headers.py $sparse" \
  "$st_python bench/safetensors_dtypes.py $sparse")
read -r t_scan c_scan s_scan m_scan <<<"${rows[0]}"
read -r t_one c_one s_one m_one <<<"${rows[1]}"
read -r t_py c_py s_py m_py <<<"${rows[2]}"
read -r t_st c_st s_st m_st <<<"${rows[3]}"
echo "header scan: $tensors tensors, $apparent apparent bytes (medians of $runs interleaved runs; load $(cut -d' ' -f1 /proc/loadavg))"
echo "  | | wall | CPU (user+sys) | of it system | peak RSS |"
echo "  |---|---|---|---|---|"
echo "  | ckptdoctor scan (all rules, headers + scale bytes) | ${t_scan} s | ${c_scan} s | ${s_scan} s | ${m_scan} MiB |"
echo "  | ckptdoctor scan --threads 1 | ${t_one} s | ${c_one} s | ${s_one} s | ${m_one} MiB |"
echo "  | python json header parse + histogram | ${t_py} s | ${c_py} s | ${s_py} s | ${m_py} MiB |"
echo "  | safetensors library: safe_open + dtype of each tensor | ${t_st} s | ${c_st} s | ${s_st} s | ${m_st} MiB |"
echo "  speedup over python json: $(fmt2 "$t_py / $t_scan")x wall (target >= 3x), --threads 1: $(fmt2 "$t_py / $t_one")x (target >= 1x)"

[ "${2:-}" = "--headers-only" ] && exit 0

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

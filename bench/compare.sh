#!/usr/bin/env bash
# `ckptdoctor compare` (CPU) against the same comparison written in numpy (bench/compare_numpy.py)
# on 16 [4096, 4096] modules: 512 MiB of BF16 source, quantized to block FP8 and to modelopt NVFP4
# by bench/make_compare_bench.py. Reports source bytes per second and the ratio; both sides must
# find the same worst error. Usage: bench/compare.sh [RUNS]   (needs build/ and .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
runs=${1:-5}
out=bench/out
py=.venv/bin/python
[ -f "$out/compare-source/model.safetensors" ] || "$py" bench/make_compare_bench.py "$out" 16
cat "$out"/compare-*/model.safetensors >/dev/null  # page cache warm for both sides
bytes=$(stat -c %s "$out/compare-source/model.safetensors")
for format in fp8 nvfp4; do
  quant=$out/compare-$format
  worst_ckd=$(build/ckptdoctor compare "$quant" --source "$out/compare-source" --format json |
    python3 -c 'import json,sys; print("%.6f" % max(t["rel_error"] for t in json.load(sys.stdin)["tensors"]))')
  worst_np=$("$py" bench/compare_numpy.py "$quant" "$out/compare-source" | sed 's/.*error //')
  [ "$worst_ckd" = "$worst_np" ] || { echo "worst errors differ: $worst_ckd vs $worst_np" >&2; exit 1; }
  read -r t_ckd c_ckd t_np c_np < <(interleaved "$runs" -- \
    "build/ckptdoctor compare $quant --source $out/compare-source" -- \
    "$py bench/compare_numpy.py $quant $out/compare-source")
  echo "$format: $bytes source bytes, worst relative error $worst_ckd on both sides (medians of $runs)"
  echo "  ckptdoctor compare: ${t_ckd}s wall ($(python3 -c "print(f'{$bytes/$t_ckd/1e6:.0f}')") MB/s), ${c_ckd}s cpu"
  echo "  numpy + ml_dtypes:  ${t_np}s wall ($(python3 -c "print(f'{$bytes/$t_np/1e6:.0f}')") MB/s), ${c_np}s cpu"
  echo "  speedup: $(python3 -c "print(f'{$t_np/$t_ckd:.1f}')")x (target >= 5x)"
done

# GPTQ int4 (v1, group 128, g_idx) and AWQ GEMM int4 of the same source, against the numpy
# dequantization GPTQModel / AutoAWQ do (bench/compare_gptq_numpy.py), same run, alternating.
for format in gptq-int4 awq; do
  quant=$out/compare-$format
  [ -f "$quant/model.safetensors" ] || "$py" bench/make_gptq_awq_bench.py "$out"
  worst_ckd=$(build/ckptdoctor compare "$quant" --source "$out/compare-source" --format json |
    python3 -c 'import json,sys; print("%.6f" % max(t["rel_error"] for t in json.load(sys.stdin)["tensors"]))')
  worst_np=$("$py" bench/compare_gptq_numpy.py "$quant" "$out/compare-source" | sed 's/.*error //')
  [ "$worst_ckd" = "$worst_np" ] || { echo "worst errors differ: $worst_ckd vs $worst_np" >&2; exit 1; }
  read -r t_ckd c_ckd t_np c_np < <(interleaved "$runs" -- \
    "build/ckptdoctor compare $quant --source $out/compare-source" -- \
    "$py bench/compare_gptq_numpy.py $quant $out/compare-source")
  echo "$format: $bytes source bytes, worst relative error $worst_ckd on both sides (medians of $runs)"
  echo "  ckptdoctor compare: ${t_ckd}s wall ($(python3 -c "print(f'{$bytes/$t_ckd/1e6:.0f}')") MB/s), ${c_ckd}s cpu"
  echo "  numpy:              ${t_np}s wall ($(python3 -c "print(f'{$bytes/$t_np/1e6:.0f}')") MB/s), ${c_np}s cpu"
  echo "  speedup: $(python3 -c "print(f'{$t_np/$t_ckd:.1f}')")x (target >= 5x)"
done

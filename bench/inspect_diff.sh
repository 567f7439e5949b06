#!/usr/bin/env bash
# inspect and diff on the full-size sparse Qwen3.6-35B-A3B-FP8-shaped checkpoint (62k tensors),
# each against baselines measured in the same run: the header scan of the same files and
# bench/parse_headers.py (json.loads of every header). Both commands read headers only, so they
# should cost about what a scan does (diff: two checkpoints' worth).
# Usage: bench/inspect_diff.sh [RUNS]   (needs build/; writes under bench/out/)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
out=bench/out
mkdir -p "$out"
bin=build/ckptdoctor
tool=build/ckptdoctor-fixture
. bench/common.sh

sparse=$out/qwen36-35b-a3b-fp8-sparse
if [ ! -f "$sparse/model.safetensors.index.json" ]; then
  echo "generating $sparse" >&2
  "$tool" bench-moe "$sparse" >&2
fi
cat "$sparse"/*.safetensors >/dev/null
mapfile -t rows < <(interleaved_rows "$runs" "$bin scan -q --fail-on never $sparse" \
  "python3 bench/parse_headers.py $sparse" "$bin inspect --format json $sparse" \
  "$bin diff --format json $sparse $sparse")
names=("scan (baseline)" "parse_headers.py" "inspect --format json" "diff A A --format json")
echo "medians of $runs interleaved runs; load $(cut -d' ' -f1 /proc/loadavg)"
read -r _ c_scan _ _ <<<"${rows[0]}"
for i in "${!rows[@]}"; do
  read -r t c s m <<<"${rows[$i]}"
  ratio=$(python3 -c "print(f'{$c/$c_scan:.2f}')")
  printf '%-24s wall %6.2f s  cpu %6.2f s  peak %6.1f MiB  cpu/scan %s\n' "${names[$i]}" "$t" "$c" "$m" "$ratio"
done

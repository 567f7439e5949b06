#!/usr/bin/env bash
# What the architecture model and the engine profiles add to a header scan (issue 11): the same
# binary scans the 62k-tensor sparse bench checkpoint of bench/run.sh with them and without them
# (CKPTDOCTOR_BENCH_NO_ARCHITECTURE=1: no model is built, every rule sees an unmodeled
# architecture, no engine verdicts), alternately in one run, both with two threads and with one.
# Usage: bench/architecture_cost.sh [RUNS]   (default 21; needs build/ and bench/out from run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-21}
bin=build/ckptdoctor
sparse=bench/out/qwen36-35b-a3b-fp8-sparse
if [ ! -f "$sparse/model.safetensors.index.json" ]; then
  build/ckptdoctor-fixture bench-moe "$sparse" >&2
fi
cat "$sparse"/*.safetensors >/dev/null
. bench/common.sh
scan="$bin scan -q --fail-on never"
off="env CKPTDOCTOR_BENCH_NO_ARCHITECTURE=1 $scan"
mapfile -t rows < <(interleaved_rows "$runs" "$off $sparse" "$scan $sparse" \
  "$off --threads 1 $sparse" "$scan --threads 1 $sparse")
fmt_pct() { python3 -c "print(f'{100 * ($2 / $1 - 1):+.1f}%')"; }
read -r w0 c0 _ m0 <<<"${rows[0]}"
read -r w1 c1 _ m1 <<<"${rows[1]}"
read -r w2 c2 _ m2 <<<"${rows[2]}"
read -r w3 c3 _ m3 <<<"${rows[3]}"
echo "architecture model + engine profiles: medians of $runs interleaved runs (load $(cut -d' ' -f1 /proc/loadavg))"
echo "  | | wall without | wall with | growth | CPU without | CPU with | growth |"
echo "  |---|---|---|---|---|---|---|"
echo "  | 2 threads | $w0 s | $w1 s | $(fmt_pct "$w0" "$w1") | $c0 s | $c1 s | $(fmt_pct "$c0" "$c1") |"
echo "  | --threads 1 | $w2 s | $w3 s | $(fmt_pct "$w2" "$w3") | $c2 s | $c3 s | $(fmt_pct "$c2" "$c3") |"

#!/usr/bin/env bash
# Remote scan vs download: the full-size sparse Qwen3.6-35B-A3B-FP8-shaped checkpoint of
# bench/run.sh served by nginx on loopback in the Hub's layout. Measures `ckptdoctor scan
# hf://org/qwen` (every rule: headers, index, configs and all 30,940 scale tensors fetched by
# Range) against downloading the same files with curl, and checks that the remote findings equal
# a local scan's. Usage: bench/remote.sh [RUNS]   (needs build/ and nginx; writes under bench/out/)
# CKPTDOCTOR=path scans with another binary (before/after figures); NO_DOWNLOAD=1 skips the
# curl baseline (36 GB over loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/hub_server.sh
runs=${1:-5}
bin=${CKPTDOCTOR:-build/ckptdoctor}
sparse=bench/out/qwen36-35b-a3b-fp8-sparse
if [ ! -f "$sparse/model.safetensors.index.json" ]; then
  echo "generating $sparse" >&2
  build/ckptdoctor-fixture bench-moe "$sparse" >&2
fi
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'hub_nginx_stop "$tmp"; rm -rf "$tmp"' EXIT
hub_publish "$tmp/root" "$sparse" org/qwen main link
port=$(hub_pick_port)
hub_nginx_conf "$tmp" "
  server {
    listen 127.0.0.1:$port;
    root $tmp/root;
    location /api/ { default_type application/json; }
  }" >"$tmp/nginx.conf"
hub_nginx_start "$tmp" "$port"
export HF_ENDPOINT=http://127.0.0.1:$port
cat "$sparse"/*.safetensors >/dev/null  # page cache warm for both sides

"$bin" scan --no-config --format json --fail-on never "$sparse" >"$tmp/local.json"
times=()
for _ in $(seq "$runs"); do
  start=$(date +%s.%N)
  "$bin" scan --format json --fail-on never hf://org/qwen >"$tmp/remote.json"
  times+=("$(printf "%.3f" "$(echo "$(date +%s.%N) - $start" | bc)")")
done
python3 - "$tmp/local.json" "$tmp/remote.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
key = lambda d: [(f["code"], f["file"], f["tensor"], f["message"]) for f in d["findings"]]
assert key(a) == key(b), "remote findings differ from the local scan's"
t = b["transfer"]
print(f"remote scan: {len(b['findings'])} findings, equal to the local scan's")
print(f"  fetched {t['bytes']:,} bytes in {t['requests']} requests; shards hold {t['file_bytes']:,} "
      f"bytes: {100 * t['bytes'] / t['file_bytes']:.4f}% (target < 1%)")
PY
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
t_remote=$(median "${times[@]}")
echo "  remote scan wall: median ${t_remote}s of $runs"

[ -n "${NO_DOWNLOAD:-}" ] && exit 0
# Baseline: downloading every file of the repository over the same server, 8 at a time.
start=$(date +%s.%N)
ls "$sparse" | xargs -P 8 -I{} curl -sf -o /dev/null "$HF_ENDPOINT/org/qwen/resolve/main/{}"
t_download=$(printf "%.2f" "$(echo "$(date +%s.%N) - $start" | bc)")
bytes=$(du -s --apparent-size --block-size=1 "$sparse" | cut -f1)
echo "download: $bytes bytes in ${t_download}s (curl, 8 parallel, loopback)"
echo "  remote scan is $(echo "scale=1; $t_download / $t_remote" | bc)x faster than the download"

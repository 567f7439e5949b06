#!/usr/bin/env bash
# Memory of a remote scan per listed file: the sparse Qwen3.6-35B-A3B-FP8-shaped checkpoint of
# bench/run.sh (62,213 tensors) cut into ~1,000 and ~4,500 shards, served by nginx on loopback in
# the Hub's layout, scanned with `ckptdoctor scan hf://org/...` (every rule: headers, index,
# configs, scale tensors). The tensors are the same in both, so the peak RSS difference divided
# by the extra files is what each file keeps. A third run adds 100,000 entries that are neither
# shards nor configs (junk-N.bin) to the larger listing: what they cost.
# Usage: bench/remote_memory.sh [CKPTDOCTOR]   (needs build/ and nginx; writes under bench/out/)
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/hub_server.sh
bin=$(realpath "${1:-build/ckptdoctor}")
fixture=build/ckptdoctor-fixture
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'hub_nginx_stop "$tmp"; rm -rf "$tmp"' EXIT
for shards in 1000 5000; do
  dir=bench/out/qwen36-sparse-$shards-shards
  [ -f "$dir/model.safetensors.index.json" ] || { mkdir -p "$dir"; "$fixture" bench-moe "$dir" --shards "$shards" >&2; }
  hub_publish "$tmp/root" "$dir" "org/s$shards" main link
done
# The larger one again, its listing padded with 100,000 files the scan must neither fetch nor keep.
hub_publish "$tmp/root" bench/out/qwen36-sparse-5000-shards org/junk main link
python3 - "$tmp/root/api/models/org/junk/tree/main" <<'PY'
import json, sys
entries = json.load(open(sys.argv[1]))
entries += [{"type": "file", "path": f"junk-{i:06d}.bin", "size": 1} for i in range(100000)]
json.dump(entries, open(sys.argv[1], "w"))
PY
port=$(hub_pick_port)
hub_nginx_conf "$tmp" "
  server {
    listen 127.0.0.1:$port;
    root $tmp/root;
    location /api/ { default_type application/json; }
  }" >"$tmp/nginx.conf"
hub_nginx_start "$tmp" "$port"
export HF_ENDPOINT=http://127.0.0.1:$port

declare -A rss files
for repo in s1000 s5000 junk; do
  /usr/bin/time -f "%M" -o "$tmp/rss" "$bin" scan --format json --fail-on never "hf://org/$repo" >"$tmp/out.json"
  rss[$repo]=$(cat "$tmp/rss")
  files[$repo]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["files"])' "$tmp/out.json")
  echo "hf://org/$repo: ${files[$repo]} shards, peak RSS ${rss[$repo]} KB"
done
echo "per extra shard: $(( (rss[s5000] - rss[s1000]) * 1024 / (files[s5000] - files[s1000]) )) bytes"
echo "100,000 junk listing entries: $(( rss[junk] - rss[s5000] )) KB"

#!/usr/bin/env bash
# Benchmark for `ckptdoctor fix`: strip a triple "language_model." prefix from a multi-GiB dense
# checkpoint (random bytes, so every byte is really read and written) and compare with `cat` of
# the same shards into a fresh directory, with and without a final `sync` (fix fsyncs every file
# it writes, so the fair baseline pays for durability too), in the same run, interleaved. Peak
# RSS of fix comes from /usr/bin/time -v.
# Usage: bench/fix.sh [RUNS] [LAYERS]   (needs build/ from scripts/setup.sh; writes bench/out/)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
layers=${2:-6}
out=bench/out
mkdir -p "$out"
bin=build/ckptdoctor
src=$out/fix-triple-prefix-$layers
if [ ! -f "$src/model.safetensors.index.json" ]; then
  echo "generating $src (random weights)" >&2
  build/ckptdoctor-fixture bench-moe "$src" --layers "$layers" --shards "$layers" --dense \
    --stem model.language_model.language_model.language_model. >&2
fi
bytes=$(du -s --apparent-size --block-size=1 "$src" | cut -f1)
cat "$src"/* >/dev/null

python3 - "$runs" "$bin" "$src" "$out" "$bytes" <<'PY'
import os, re, shutil, statistics, subprocess, sys, time
runs, binary, src, out, size = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
fixed, copied = f"{out}/fix-output", f"{out}/cat-output"

def timed(cmd):
    subprocess.run(["sync"])
    start = time.perf_counter()
    p = subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {cmd}\n{p.stderr}")
    return elapsed, p.stderr

cat_cmd = (f"mkdir -p {copied} && for f in {src}/*; do cat \"$f\" > {copied}/$(basename \"$f\"); "
           f"done && sync")
fix_cmd = (f"/usr/bin/time -v {binary} fix {src} --strip-prefix language_model.language_model. "
           f"-o {fixed} -q")
cat_nosync_cmd = cat_cmd[: -len(" && sync")]
t_cat, t_cat_nosync, t_fix, rss = [], [], [], []
for _ in range(runs):
    for path in (fixed, copied):
        shutil.rmtree(path, ignore_errors=True)
    t, _ = timed(cat_nosync_cmd)
    t_cat_nosync.append(t)
    shutil.rmtree(copied, ignore_errors=True)
    t, _ = timed(cat_cmd)
    t_cat.append(t)
    shutil.rmtree(copied, ignore_errors=True)
    t, err = timed(fix_cmd)
    t_fix.append(t)
    rss.append(int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1)))
shutil.rmtree(fixed, ignore_errors=True)
c, f, n = statistics.median(t_cat), statistics.median(t_fix), statistics.median(t_cat_nosync)
print(f"fix --strip-prefix on {size} bytes ({size / 2**30:.1f} GiB), medians of {runs} interleaved runs")
print(f"  cat (no sync):     {n:.2f}s ({size / n / 1e9:.2f} GB/s; dirty pages left for the kernel)")
print(f"  cat + sync:        {c:.2f}s ({size / c / 1e9:.2f} GB/s)")
print(f"  ckptdoctor fix:    {f:.2f}s ({size / f / 1e9:.2f} GB/s), peak RSS {max(rss) / 1024:.1f} MiB")
print(f"  fix / (cat + sync): {f / c:.2f}x, fix / cat: {f / n:.2f}x (target <= 1.5x); RSS target < 64 MiB")
PY

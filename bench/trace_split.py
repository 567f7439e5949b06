#!/usr/bin/env python3
"""Where a scan's time goes, per phase and per check, in CPU ns per tensor: runs each binary
alternately with CKPTDOCTOR_TRACE=1 --threads 1 and prints the median CPU time of each phase
(phases nest: "header" holds its checks and the overlapped scale decode).

Usage: trace_split.py DIR RUNS BIN [BIN...]   (phases under 0.05 ms are left out)
"""
import os, re, statistics, subprocess, sys

directory, runs, bins = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
import json
tensors = len(json.load(open(os.path.join(directory, "model.safetensors.index.json")))["weight_map"])
times = [dict() for _ in bins]
for _ in range(runs):
    for k, b in enumerate(bins):
        env = dict(os.environ, CKPTDOCTOR_TRACE="1")
        p = subprocess.run([b, "scan", "-q", "--fail-on", "never", "--threads", "1", directory],
                           env=env, capture_output=True, text=True)
        for line in p.stderr.splitlines():
            m = re.match(r"ckptdoctor: (.+?)\s+[0-9.]+ ms\s+(-?[0-9.]+) ms cpu(?:\s+[-+0-9.]+ MiB heap)?(?:\s+at\s+[0-9.]+ ms)?$", line)
            if m:
                times[k].setdefault(m.group(1), []).append(float(m.group(2)))
names = sorted({n for t in times for n in t}, key=lambda n: -statistics.median(times[0].get(n, [0])))
print(f"{tensors} tensors, medians of {runs}, ns per tensor")
print("| phase | " + " | ".join(os.path.basename(os.path.dirname(os.path.dirname(b))) or b for b in bins) + " |")
print("|---|" + "---|" * len(bins))
for n in names:
    cells = [statistics.median(t[n]) * 1e6 / tensors if n in t else 0 for t in times]
    if max(cells) * tensors / 1e6 < 0.05:
        continue
    print(f"| {n} | " + " | ".join(f"{c:.0f}" for c in cells) + " |")

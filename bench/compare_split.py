#!/usr/bin/env python3
"""Where `ckptdoctor compare` spends its time on the bench/compare.sh checkpoints, in CPU
nanoseconds per source element: `perf stat` task-clock times the share of each phase in a
`perf record` profile (symbols grouped below). Needs perf and bench/out/compare-* (made by
bench/compare.sh). Usage: bench/compare_split.py CKPTDOCTOR [CKPTDOCTOR...]"""
import collections
import re
import subprocess
import sys
import tempfile

ELEMENTS = 16 * 4096 * 4096
DECODE = ("decode_e4m3", "decode_e2m1", "decode_rows", "effective_scales", "decode_element",
          "e2m1_table", "f8_e4m3fn_table", "e4m3_tail", "e2m1_tail", "zero_point_grid")


def phase(symbol, kernel):
    if kernel:
        return "read (pread: kernel copy from the page cache, faults)"
    if "bf16_to_float" in symbol:
        return "BF16 source -> float"
    if any(k in symbol for k in DECODE):
        return "decode (codes x scales)"
    if "add_finite" in symbol or "add_row" in symbol:
        return "error sums"
    if "parallel_for" in symbol:  # before ErrorSums: BF16 decode and sums inlined there
        return "BF16 -> float + error sums (inlined)"
    return "other (startup, headers, libc)"


def main():
    data = tempfile.NamedTemporaryFile(suffix=".perf").name
    for binary in sys.argv[1:]:
        for fmt in ("fp8", "nvfp4"):
            cmd = [binary, "compare", f"bench/out/compare-{fmt}", "--source", "bench/out/compare-source"]
            stat = subprocess.run(["perf", "stat", "-x,", "-e", "task-clock"] + cmd,
                                  capture_output=True, text=True).stderr
            ms = float(stat.strip().splitlines()[-1].split(",")[0])
            subprocess.run(["perf", "record", "-q", "-F", "2999", "-o", data] + cmd, capture_output=True)
            report = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "sym",
                                     "--stdio"], capture_output=True, text=True).stdout
            shares = collections.Counter()
            for line in report.splitlines():
                m = re.match(r"\s+([\d.]+)%\s+\[(.)\]\s+(.*)", line)
                if m:
                    shares[phase(m.group(3), m.group(2) == "k")] += float(m.group(1))
            print(f"{binary} {fmt}: {ms:.0f} ms CPU, {ms * 1e6 / ELEMENTS:.2f} ns/element")
            for name, share in shares.most_common():
                print(f"   {name}: {share:.1f}% = {share / 100 * ms * 1e6 / ELEMENTS:.2f} ns/element")


if __name__ == "__main__":
    main()

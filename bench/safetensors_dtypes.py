#!/usr/bin/env python3
"""Baseline for bench/run.sh: the safetensors library (Rust) opens every shard and reads each
tensor's dtype (no tensor bytes), plus the same dtype-byte histogram as parse_headers.py.

Usage: safetensors_dtypes.py CHECKPOINT_DIR   (run with .venv/bin/python)
"""
import os
import sys
from collections import Counter

from safetensors import safe_open


def main(directory):
    histogram = Counter()
    tensors = 0
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".safetensors"):
            continue
        with safe_open(os.path.join(directory, name), framework="numpy") as f:
            for key in f.keys():
                histogram[f.get_slice(key).get_dtype()] += 1
                tensors += 1
    for dtype, count in sorted(histogram.items()):
        print(f"{dtype:10} {count:>10}")
    print(f"{tensors} tensors")


if __name__ == "__main__":
    main(sys.argv[1])

#!/usr/bin/env python3
"""Baseline for bench/run.sh: parse every shard header with json and build the dtype histogram.

This is the throwaway script people write today; ckptdoctor scan must beat it while checking
far more. Usage: parse_headers.py CHECKPOINT_DIR
"""
import json
import os
import struct
import sys
from collections import Counter

SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1, "I16": 2, "U16": 2,
         "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


def main(directory):
    histogram = Counter()
    tensors = 0
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".safetensors"):
            continue
        with open(os.path.join(directory, name), "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
        for key, info in header.items():
            if key == "__metadata__":
                continue
            begin, end = info["data_offsets"]
            histogram[info["dtype"]] += end - begin
            tensors += 1
    total = sum(histogram.values())
    for dtype, size in sorted(histogram.items()):
        print(f"{dtype:10} {size:>16} {100 * size / total:6.2f}%")
    print(f"{tensors} tensors")


if __name__ == "__main__":
    main(sys.argv[1])

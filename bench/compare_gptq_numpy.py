#!/usr/bin/env python3
"""The baseline of bench/compare.sh's GPTQ and AWQ rows: the same round-trip comparison as
`ckptdoctor compare`, in numpy the way GPTQModel dequantize_weight (shift, mask, v1 zeros + 1,
scales[g_idx] * (w - zeros[g_idx])) and AutoAWQ packing_utils.dequantize_gemm (unpack, reverse
the AWQ order, (w - z) * s) compute it, for 4-bit modules. Prints modules, source bytes and the
worst relative error. Usage: compare_gptq_numpy.py QUANT_DIR SOURCE_DIR"""
import json
import os
import sys

import numpy as np
from compare_numpy import open_all

SHIFTS = np.arange(0, 32, 4, dtype=np.uint32)
AWQ_REVERSE_ORDER = [0, 4, 1, 5, 2, 6, 3, 7]


def get(t, name):
    info = t[name].info
    begin, end = info["data_offsets"]
    dtype = {"I32": np.uint32, "F16": np.float16, "BF16": None}[info["dtype"]]
    return np.frombuffer(t[name].data[begin:end], dtype).reshape(info["shape"])


def dequant(t, name, qc):
    qweight, qzeros = get(t, name + ".qweight"), get(t, name + ".qzeros")
    scales = get(t, name + ".scales").astype(np.float32)
    if qc["quant_method"] == "gptq":
        w = ((qweight[:, None, :] >> SHIFTS[None, :, None]) & 0xF).reshape(-1, qweight.shape[1])
        z = ((qzeros[:, :, None] >> SHIFTS[None, None, :]) & 0xF).reshape(qzeros.shape[0], -1)
        z = z.astype(np.int32) + (1 if qc.get("checkpoint_format", "gptq") == "gptq" else 0)
        g = get(t, name + ".g_idx").view(np.int32)
        return scales[g] * (w.astype(np.int32) - z[g]).astype(np.float32)  # [in, out]
    order = np.arange(qweight.shape[1] * 8).reshape(-1, 8)[:, AWQ_REVERSE_ORDER].reshape(-1)
    w = ((qweight[:, :, None] >> SHIFTS) & 0xF).reshape(qweight.shape[0], -1)[:, order]
    z = ((qzeros[:, :, None] >> SHIFTS) & 0xF).reshape(qzeros.shape[0], -1)[:, order]
    group = w.shape[0] // z.shape[0]
    return (w.astype(np.int32) - np.repeat(z, group, 0)).astype(np.float32) * np.repeat(scales, group, 0)


def main():
    quant, source = open_all(sys.argv[1]), open_all(sys.argv[2])
    qc = json.load(open(os.path.join(sys.argv[1], "config.json")))["quantization_config"]
    worst, nbytes, count = 0.0, 0, 0
    for key in sorted(quant):
        if not key.endswith(".qweight"):
            continue
        name = key[: -len(".qweight")]
        w = source[name + ".weight"].get_tensor(None).astype(np.float32).astype(np.float64)
        diff = dequant(quant, name, qc).T.astype(np.float64) - w
        rel = np.sqrt((diff * diff).sum()) / np.sqrt((w * w).sum())
        worst, nbytes, count = max(worst, rel), nbytes + w.size * 2, count + 1
    print(f"{count} modules, {nbytes} source bytes, worst relative error {worst:.6f}")


if __name__ == "__main__":
    main()

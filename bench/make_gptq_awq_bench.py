#!/usr/bin/env python3
"""Generates bench/out/compare-gptq-int4 and compare-awq from bench/out/compare-source (written
by make_compare_bench.py): GPTQ 4-bit symmetric, group 128, checkpoint_format gptq (v1 zeros,
g_idx saved) and AWQ GEMM 4-bit, group 128, with zero points; round-to-nearest quantization in
numpy, packed as GPTQModel pack_block and AutoAWQ WQLinear_GEMM.from_linear pack (see
scripts/make_gptq_awq_oracle.py for the layouts). Usage: make_gptq_awq_bench.py OUT_DIR"""
import json
import os
import sys

import ml_dtypes
import numpy as np
from safetensors.numpy import load_file, save_file

out = sys.argv[1]
G = 128
src = load_file(os.path.join(out, "compare-source", "model.safetensors"))
config = json.load(open(os.path.join(out, "compare-source", "config.json")))
AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7]


def pack_rows_of_8(u, axis):
    """Eight 4-bit values per uint32 word: along axis 0 (GPTQ qweight) or 1 (qzeros)."""
    u = u.astype(np.uint32)
    if axis == 0:
        u = u.reshape(u.shape[0] // 8, 8, u.shape[1])
        return (u << (4 * np.arange(8, dtype=np.uint32))[None, :, None]).sum(1, dtype=np.uint32).view(np.int32)
    u = u.reshape(u.shape[0], u.shape[1] // 8, 8)
    return (u << (4 * np.arange(8, dtype=np.uint32))[None, None, :]).sum(2, dtype=np.uint32).view(np.int32)


gptq, awq = {}, {}
for key, w in src.items():
    name = key[: -len(".weight")]
    wt = w.astype(np.float32).T  # [in, out]
    inn, outn = wt.shape
    grouped = wt.reshape(inn // G, G, outn)
    # GPTQ symmetric: scale = 2 amax / 15, zero 8, stored 7 (v1)
    amax = np.maximum(np.abs(grouped).max(1), 1e-8)
    s = (2 * amax / 15).astype(np.float16)
    q = np.clip(np.round(grouped / s.astype(np.float32)[:, None, :]) + 8, 0, 15).reshape(inn, outn)
    gptq[name + ".qweight"] = pack_rows_of_8(q, 0)
    gptq[name + ".qzeros"] = pack_rows_of_8(np.full((inn // G, outn), 7), 1)
    gptq[name + ".scales"] = s
    gptq[name + ".g_idx"] = (np.arange(inn) // G).astype(np.int32)
    # AWQ asymmetric: scale = (max - min) / 15, zero = -round(min / scale)
    lo, hi = grouped.min(1), grouped.max(1)
    s = (np.maximum(hi - lo, 1e-5) / 15).astype(np.float16)
    z = np.clip(-np.round(lo / s.astype(np.float32)), 0, 15)
    q = np.clip(np.round(grouped / s.astype(np.float32)[:, None, :]) + z[:, None, :], 0, 15).reshape(inn, outn)
    order = np.arange(outn).reshape(-1, 8)[:, AWQ_ORDER].reshape(-1)  # nibble i <- column 8j + order[i]
    awq[name + ".qweight"] = pack_rows_of_8(q[:, order], 1)
    awq[name + ".qzeros"] = pack_rows_of_8(z[:, order], 1)
    awq[name + ".scales"] = s
for d, tensors, qc in (("compare-gptq-int4", gptq, {"quant_method": "gptq", "bits": 4, "group_size": G,
                                                     "sym": True, "desc_act": False, "checkpoint_format": "gptq"}),
                       ("compare-awq", awq, {"quant_method": "awq", "bits": 4, "group_size": G,
                                             "zero_point": True, "version": "gemm"})):
    os.makedirs(os.path.join(out, d), exist_ok=True)
    # save_file writes an array's buffer as it lies in memory: make every tensor C-ordered.
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    save_file(tensors, os.path.join(out, d, "model.safetensors"), metadata={"format": "pt"})
    json.dump({**config, "quantization_config": qc}, open(os.path.join(out, d, "config.json"), "w"))

#!/usr/bin/env python3
"""Generates bench/out/compare-*: a BF16 source of N [4096, 4096] linear modules and its block
FP8 and modelopt NVFP4 quantizations (real quantization in numpy, so the errors are the healthy
2.6% and 9.5%). Usage: make_compare_bench.py OUT_DIR [MODULES]"""
import json
import os
import sys

import ml_dtypes
import numpy as np
from safetensors.numpy import save_file

E4M3, E2M1, BF16 = ml_dtypes.float8_e4m3fn, ml_dtypes.float4_e2m1fn, ml_dtypes.bfloat16
out, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 16
R = C = 4096
rng = np.random.default_rng(7)
names = [f"model.layers.{i // 4}.mlp.{['gate_proj', 'up_proj', 'down_proj', 'o_proj'][i % 4]}" for i in range(n)]
config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": C,
          "num_hidden_layers": n // 4 + 1, "vocab_size": 256, "tie_word_embeddings": False}


def block_amax(w, br, bc):
    return np.abs(w.reshape(w.shape[0] // br, br, w.shape[1] // bc, bc)).max(axis=(1, 3))


def expand(s, br, bc):
    return np.repeat(np.repeat(s, br, axis=0), bc, axis=1)


def write(d, tensors, cfg, hf_quant=None):
    os.makedirs(d, exist_ok=True)
    save_file(tensors, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
    if hf_quant:
        json.dump({"producer": {"name": "modelopt"}, "quantization": hf_quant},
                  open(os.path.join(d, "hf_quant_config.json"), "w"))


src, fp8, nvfp4 = {}, {}, {}
for name in names:
    w = rng.normal(0, 0.02, (R, C)).astype(np.float32).astype(BF16)
    src[name + ".weight"] = w
    w = w.astype(np.float32)
    s = block_amax(w, 128, 128) / 448
    fp8[name + ".weight"] = (w / expand(s, 128, 128)).astype(E4M3)
    fp8[name + ".weight_scale_inv"] = s
    ws2 = np.float32(np.abs(w).max() / 2688)
    bs = (block_amax(w, 1, 16) / 6 / ws2).astype(E4M3)
    eff = expand(bs.astype(np.float32) * ws2, 1, 16)
    codes = np.clip(w / eff, -6, 6).astype(E2M1).view(np.uint8) & 0x0F
    nvfp4[name + ".weight"] = (codes[:, 0::2] | (codes[:, 1::2] << 4)).astype(np.uint8)
    nvfp4[name + ".weight_scale"] = bs
    nvfp4[name + ".weight_scale_2"] = np.array(ws2, np.float32)
write(os.path.join(out, "compare-source"), src, config)
write(os.path.join(out, "compare-fp8"), fp8, {**config, "quantization_config": {
    "quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic", "weight_block_size": [128, 128]}})
write(os.path.join(out, "compare-nvfp4"), nvfp4, config, {"quant_algo": "NVFP4", "group_size": 16})

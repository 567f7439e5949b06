#!/usr/bin/env python3
"""Writes the hostile-size config benchmarks of bench/configs.sh (issue 10 #13, #14).

make_config_bench.py mixed DIR: DIR (a built base-modelopt-nvfp4 fixture) gets a modelopt
  MIXED_PRECISION hf_quant_config.json shaped like a DeepSeek-size export: 61 layers x 256
  experts x 3 projections NVFP4 plus 61 x 4 attention projections FP8 = 47,092 quantized_layers,
  json.dump(indent=4) as modelopt writes it (about 6.8 MB).
make_config_bench.py globs DIR: DIR (a built base-fp8-block fixture) gets 200,000 ignore globs
  ("model.layers.*.experts.N.gate_proj", about 8 MB) in quantization_config.modules_to_not_convert.
"""
import json
import sys


def mixed(directory):
    layers = {}
    for layer in range(61):
        for expert in range(256):
            for proj in ("gate_proj", "up_proj", "down_proj"):
                layers[f"model.layers.{layer}.mlp.experts.{expert}.{proj}"] = {
                    "quant_algo": "NVFP4", "group_size": 16}
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            layers[f"model.layers.{layer}.self_attn.{proj}"] = {"quant_algo": "NVFP4", "group_size": 16}
    config = {
        "producer": {"name": "modelopt", "version": "0.35.0"},
        "quantization": {"quant_algo": "MIXED_PRECISION", "kv_cache_quant_algo": None,
                         "quantized_layers": layers, "exclude_modules": ["lm_head"]},
    }
    with open(f"{directory}/hf_quant_config.json", "w") as f:
        json.dump(config, f, indent=4)


def globs(directory):
    path = f"{directory}/config.json"
    with open(path) as f:
        config = json.load(f)
    ignore = config["quantization_config"]["modules_to_not_convert"]
    ignore += [f"model.layers.*.experts.{i}.gate_proj" for i in range(200_000 - len(ignore))]
    with open(path, "w") as f:
        json.dump(config, f)


if __name__ == "__main__":
    {"mixed": mixed, "globs": globs}[sys.argv[1]](sys.argv[2])

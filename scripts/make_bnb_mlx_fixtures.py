#!/usr/bin/env python3
"""Writes the MLX compare fixtures (fixtures/compare/mlx-*) from the BF16 source in
fixtures/compare/source, their rows of fixtures/compare/expected-bnb-mlx.json (every module's
relative and maximum absolute error, computed by the producer, sharing no code with
src/compare/), and the bitsandbytes / MLX scan specs (fixtures/specs).

- MLX: the producer itself (mlx[cpu] from PyPI): mx.quantize writes the weights, scales and
  biases, and mx.dequantize (with float32 scales and biases) is the oracle's decoder.
- bitsandbytes: the compare fixtures bnb-* and their rows are written by bitsandbytes itself
  (scripts/make_bnb_fixtures.py, in the torch venv of scripts/setup-oracles-venv.sh); this
  script keeps those rows and only writes the bnb specs' tensors (the NF4 / FP4 code tables of
  functional.py get_4bit_type, the quant_state JSON of QuantState.as_dict(packed=True)).

Run: "$(scripts/setup-bnb-mlx-venv.sh)" scripts/make_bnb_mlx_fixtures.py
"""
import json
import os
import shutil

import mlx.core as mx
import numpy as np

from bnb_reference import bnb_config
from compare_source import linear_modules

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "fixtures", "compare")
SOURCE = mx.load(os.path.join(OUT, "source", "model.safetensors"))
BASE_CONFIG = json.load(open(os.path.join(OUT, "source", "config.json")))
LAYERS, EXPERTS = 2, 4

# The linear modules as the quantized checkpoints name them (per-expert keys), float32 views of
# the BF16 source (exact).
MODULES = linear_modules(SOURCE, LAYERS, EXPERTS)

def f32(a):
    return np.array(a.astype(mx.float32))


def errors(decoded, source):
    d = decoded.astype(np.float64)
    w = f32(source).astype(np.float64)
    return {"rel_error": float(np.sqrt(((d - w) ** 2).sum()) / np.sqrt((w ** 2).sum())),
            "max_abs_error": float(np.abs(d - w).max())}


# --- bitsandbytes -------------------------------------------------------------------------------
NF4 = np.array([-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
                -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
                0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
                0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0], dtype=np.float32)
# get_4bit_type("fp4"): the stored quant_map and the CUDA kernels' values.
FP4 = (np.array([0, 0.0625, 8.0, 12.0, 4.0, 6.0, 2.0, 3.0, -0.0, -0.0625, -8.0, -12.0, -4.0, -6.0,
                 -2.0, -3.0], dtype=np.float32) / np.float32(12.0)).astype(np.float32)
CODES = {"nf4": NF4, "fp4": FP4}


# --- MLX ----------------------------------------------------------------------------------------
def mlx_variant(variant, bits, group, overrides=None, broken=None):
    """mlx_lm's quantize_model: every Linear / Embedding whose input divides group_size, with
    per-module overrides ({path: {bits, group_size}} or False); `broken` negates one module's
    biases."""
    overrides = overrides or {}
    d = os.path.join(OUT, variant)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    arrays, expected = {}, {}
    quantizable = dict(MODULES)
    quantizable["model.embed_tokens"] = SOURCE["model.embed_tokens.weight"]
    quantizable["lm_head"] = SOURCE["lm_head.weight"]
    for name, w in quantizable.items():
        o = overrides.get(name, {})
        if o is False:
            arrays[name + ".weight"] = w
            continue
        b, g = o.get("bits", bits), o.get("group_size", group)
        if w.shape[-1] % g:  # mlx_lm's predicate leaves such modules unquantized
            arrays[name + ".weight"] = w
            continue
        wq, scales, biases = mx.quantize(w, group_size=g, bits=b)
        if name == broken:
            biases = -biases
        arrays.update({name + ".weight": wq, name + ".scales": scales, name + ".biases": biases})
        if name in MODULES:
            decoded = np.array(mx.dequantize(wq, scales.astype(mx.float32),
                                             biases.astype(mx.float32), group_size=g, bits=b))
            expected[name] = errors(decoded, w)
    arrays["model.norm.weight"] = SOURCE["model.norm.weight"]
    mx.save_safetensors(os.path.join(d, "model.safetensors"), arrays, metadata={"format": "mlx"})
    q = {"group_size": group, "bits": bits, **overrides}
    json.dump({**BASE_CONFIG, "quantization": q, "quantization_config": q},
              open(os.path.join(d, "config.json"), "w"), indent=1)
    return expected


def main():
    # The bitsandbytes rows are written by scripts/make_bnb_fixtures.py (bitsandbytes itself).
    path = os.path.join(OUT, "expected-bnb-mlx.json")
    expected = {k: v for k, v in json.load(open(path)).items() if k.startswith("bnb-")}
    for variant, args in {
        "mlx-4bit": (4, 64, None, None),
        "mlx-3bit": (3, 32, None, None),
        # mlx_lm mixed recipes: per-module bits / group sizes, and a module left in BF16.
        "mlx-mixed": (4, 64, {"model.layers.0.self_attn.q_proj": {"group_size": 32, "bits": 6},
                              "model.layers.1.self_attn.o_proj": {"group_size": 32, "bits": 5},
                              "model.layers.0.mlp.experts.0.down_proj": {"group_size": 32, "bits": 8},
                              "model.layers.0.mlp.experts.1.down_proj": {"group_size": 32, "bits": 2},
                              "model.layers.1.self_attn.q_proj": False}, None),
        "mlx-4bit-broken": (4, 64, None, "model.layers.1.self_attn.q_proj"),
    }.items():
        bits, group, overrides, broken = args
        expected[variant] = {"source": "source",
                             "modules": mlx_variant(variant, bits, group, overrides, broken)}

    with open(path, "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    for variant, entry in expected.items():
        rel = [m["rel_error"] for m in entry["modules"].values()]
        print(f"{variant:18} modules {len(rel):3}  rel min {min(rel):.4f} max {max(rel):.4f}")


# --- scan specs (fixtures/specs, generated into checkpoints at test time) ------------------------
SPEC_CONFIG = {"model_type": "qwen2", "hidden_size": 256, "intermediate_size": 512,
               "num_hidden_layers": 2, "vocab_size": 512, "tie_word_embeddings": False,
               "torch_dtype": "bfloat16"}
SPEC_SHAPES = {"self_attn.q_proj": [256, 256], "self_attn.k_proj": [256, 256],
               "self_attn.v_proj": [256, 256], "self_attn.o_proj": [256, 256],
               "mlp.gate_proj": [512, 256], "mlp.up_proj": [512, 256], "mlp.down_proj": [256, 512]}


def spec_common():
    return [
        {"name": "model.embed_tokens.weight", "dtype": "BF16", "shape": [512, 256], "random": {"seed": 1}},
        {"name": "model.layers.{0..1}.{input,post_attention}_layernorm.weight", "dtype": "BF16",
         "shape": [256], "fill": 1.0},
        {"name": "model.norm.weight", "dtype": "BF16", "shape": [256], "fill": 1.0},
    ]


def bnb_spec_tensors(layers, module, shape, quant_type="nf4", state_shape=None, code=None,
                     skip=()):
    n = shape[0] * shape[1]
    state = {"quant_type": quant_type, "blocksize": 64, "dtype": "bfloat16",
             "shape": state_shape or shape}
    p = f"model.layers.{layers}.{module}.weight"
    out = [{"name": p, "dtype": "U8", "shape": [n // 2, 1], "random": {"seed": 3}},
           {"name": p + ".absmax", "dtype": "F32", "shape": [n // 64], "values": [0.031, 0.027, 0.044]},
           {"name": p + ".quant_map", "dtype": "F32", "shape": [16],
            "values": [float(v) for v in (code if code is not None else CODES[quant_type])]},
           {"name": f"{p}.quant_state.bitsandbytes__{quant_type}", "dtype": "U8",
            "shape": [len(json.dumps(state))], "bytes": json.dumps(state).encode().hex()}]
    return [t for t in out if not any(t["name"].endswith(x) for x in skip)]


def write_spec(name, description, expect, config, tensors):
    spec = {"description": description, "only": True, "expect": expect,
            "files": {"config.json": config}, "shards": {"model.safetensors": {"tensors": tensors}}}
    with open(os.path.join(ROOT, "fixtures", "specs", name + ".json"), "w") as f:
        json.dump(spec, f, indent=1)
        f.write("\n")


def write_specs():
    qc = bnb_config(BASE_CONFIG, True)["quantization_config"]
    config = {**SPEC_CONFIG, "quantization_config": {**qc, "llm_int8_skip_modules": ["lm_head"]}}
    lm_head = {"name": "lm_head.weight", "dtype": "BF16", "shape": [512, 256], "random": {"seed": 6}}
    healthy = spec_common() + [lm_head]
    for module, shape in SPEC_SHAPES.items():
        healthy += bnb_spec_tensors("{0..1}", module, shape)
    write_spec("base-bnb-nf4", "Healthy bitsandbytes NF4 (transformers Linear4bit state dict: U8 "
               "weight [n/2, 1], F32 absmax per 64, the NF4 quant_map, the JSON quant_state); "
               "lm_head skipped in BF16.", {}, config, healthy)
    broken = spec_common() + [lm_head]
    for module, shape in SPEC_SHAPES.items():
        for layer in (0, 1):
            kw = {}
            if (layer, module) == (0, "self_attn.q_proj"):
                kw = {"skip": (".absmax",)}
            elif (layer, module) == (1, "mlp.down_proj"):
                kw = {"state_shape": [256, 256]}  # a state copied from another module
            elif (layer, module) == (1, "self_attn.v_proj"):
                kw = {"code": FP4, "quant_type": "nf4"}  # FP4 codes declared nf4
            broken += bnb_spec_tensors(layer, module, shape, **kw)
    write_spec("missing-quant-state-bnb", "bitsandbytes NF4 with a weight missing its absmax, a "
               "quant state whose shape belongs to another module and a quant_map holding the "
               "FP4 code under quant_type nf4.", {"missing-quant-state": 3}, config, broken)

    int8 = spec_common() + [lm_head]
    for module, (out, inp) in SPEC_SHAPES.items():
        p = f"model.layers.{{0..1}}.{module}."
        int8 += [{"name": p + "weight", "dtype": "I8", "shape": [out, inp], "random": {"seed": 4}},
                 {"name": p + "SCB", "dtype": "F32", "shape": [out], "values": [0.061, 0.083, 0.052]},
                 {"name": p + "weight_format", "dtype": "U8", "shape": [], "values": [0]}]
    qc8 = bnb_config(BASE_CONFIG, False)["quantization_config"]
    write_spec("base-bnb-int8", "Healthy bitsandbytes LLM.int8 (Linear8bitLt state dict: I8 "
               "weight, F32 SCB per row, U8 weight_format 0); lm_head skipped in BF16.", {},
               {**SPEC_CONFIG, "quantization_config": {**qc8, "llm_int8_skip_modules": ["lm_head"]}},
               int8)

    mlx = {**SPEC_CONFIG, "quantization": {"group_size": 64, "bits": 4,
                                           "model.layers.1.mlp.down_proj": {"group_size": 32, "bits": 8}},
           "quantization_config": {"group_size": 64, "bits": 4,
                                   "model.layers.1.mlp.down_proj": {"group_size": 32, "bits": 8}}}
    tensors = [t for t in spec_common() if "embed" not in t["name"]]
    quantized = {"model.embed_tokens": [512, 256], "lm_head": [512, 256]}
    for module, shape in SPEC_SHAPES.items():
        quantized["model.layers.{0..1}." + module] = shape
    del quantized["model.layers.{0..1}.mlp.down_proj"]
    quantized["model.layers.0.mlp.down_proj"] = [256, 512]
    for name, (out, inp) in quantized.items():
        tensors += [{"name": name + ".weight", "dtype": "U32", "shape": [out, inp * 4 // 32],
                     "values": [305419896, 2596069104, 4275878552]},
                    {"name": name + ".scales", "dtype": "BF16", "shape": [out, inp // 64],
                     "values": [0.0021, -0.0034, 0.0017]},
                    {"name": name + ".biases", "dtype": "BF16", "shape": [out, inp // 64],
                     "values": [-0.016, 0.027, -0.013]}]
    tensors += [{"name": "model.layers.1.mlp.down_proj.weight", "dtype": "U32", "shape": [256, 128],
                 "values": [305419896, 2596069104]},
                {"name": "model.layers.1.mlp.down_proj.scales", "dtype": "BF16", "shape": [256, 16],
                 "values": [0.0004, -0.0006]},
                {"name": "model.layers.1.mlp.down_proj.biases", "dtype": "BF16", "shape": [256, 16],
                 "values": [-0.05, 0.06]}]
    write_spec("base-mlx-4bit", "Healthy MLX affine 4-bit, group 64 (mlx_lm convert: U32 weights, "
               "BF16 scales (some negative, as mlx writes for groups whose extreme is negative) "
               "and biases; embeddings and lm_head quantized too), one module overridden to "
               "8-bit group 32.", {}, mlx, tensors)


if __name__ == "__main__":
    main()
    write_specs()

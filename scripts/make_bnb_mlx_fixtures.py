#!/usr/bin/env python3
"""Writes the bitsandbytes and MLX compare fixtures (fixtures/compare/bnb-*, mlx-*) from the BF16
source in fixtures/compare/source, and fixtures/compare/expected-bnb-mlx.json: every module's
relative and maximum absolute error, computed here by dequantizers that share no code with
src/compare/.

- MLX: the producer itself (mlx[cpu] from PyPI): mx.quantize writes the weights, scales and
  biases, and mx.dequantize (with float32 scales and biases) is the oracle's decoder.
- bitsandbytes: its PyPI wheels need torch, which this environment cannot install, so the
  quantizer and the decoder follow bitsandbytes' own CPU code in numpy, read afresh:
  backends/default/ops.py (quantize_4bit, dequantize_4bit, quantize_blockwise,
  dequantize_blockwise, int8_vectorwise_quant), functional.py (get_4bit_type,
  create_dynamic_map, quantize_4bit's double quantization, QuantState.as_dict(packed=True)),
  utils.py pack_dict_to_tensor and nn/modules.py (Linear4bit / Linear8bitLt
  _save_to_state_dict: the weight.* and SCB / weight_format names).

Run: "$(scripts/setup-bnb-mlx-venv.sh)" scripts/make_bnb_mlx_fixtures.py
"""
import json
import os
import shutil

import mlx.core as mx
import numpy as np
from safetensors.numpy import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "fixtures", "compare")
SOURCE = mx.load(os.path.join(OUT, "source", "model.safetensors"))
BASE_CONFIG = json.load(open(os.path.join(OUT, "source", "config.json")))
LAYERS, EXPERTS, INTER = 2, 4, 32

# The linear modules as the quantized checkpoints name them (per-expert keys), float32 views of
# the BF16 source (exact).
MODULES = {}
for l in range(LAYERS):
    p = f"model.layers.{l}."
    MODULES[p + "self_attn.q_proj"] = SOURCE[p + "self_attn.q_proj.weight"]
    MODULES[p + "self_attn.o_proj"] = SOURCE[p + "self_attn.o_proj.weight"]
    for e in range(EXPERTS):
        gu = SOURCE[p + "mlp.experts.gate_up_proj"][e]
        MODULES[f"{p}mlp.experts.{e}.gate_proj"] = gu[:INTER]
        MODULES[f"{p}mlp.experts.{e}.up_proj"] = gu[INTER:]
        MODULES[f"{p}mlp.experts.{e}.down_proj"] = SOURCE[p + "mlp.experts.down_proj"][e]
UNQUANTIZED = ["model.embed_tokens.weight", "lm_head.weight", "model.norm.weight"]


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
# backends/utils.py _FP4_QUANT_TABLE: the CPU quantizer's (rounded) table.
FP4_CPU = np.array([0.0, 0.0052, 0.6667, 1.0, 0.3333, 0.5, 0.1667, 0.25, 0.0, -0.0052, -0.6667,
                    -1.0, -0.3333, -0.5, -0.1667, -0.25], dtype=np.float32)
CODES = {"nf4": NF4, "fp4": FP4}


def dynamic_map():
    """functional.py create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8)."""
    data = []
    non_sign_bits, max_exp = 7, 7
    for i in range(max_exp):
        fraction_items = int(2 ** (i + non_sign_bits - max_exp) + 1)
        boundaries = np.linspace(0.1, 1, fraction_items, dtype=np.float32)
        means = (boundaries[:-1] + boundaries[1:]) / np.float32(2.0)
        data += ((10 ** (-(max_exp - 1) + i)) * means).tolist()
        data += (-(10 ** (-(max_exp - 1) + i)) * means).tolist()
    data += [0, 1.0]
    data += [0] * (256 - len(data))
    return np.array(sorted(data), dtype=np.float32)


def blockwise_absmax(a, blocksize):
    n = a.size
    pad = (-n) % blocksize
    blocks = np.pad(np.abs(a), (0, pad)).reshape(-1, blocksize)
    return blocks.max(axis=1).astype(np.float32)


def nearest(scaled, code):
    return np.argmin(np.abs(scaled[:, None] - code[None, :]), axis=1).astype(np.uint8)


def quantize_4bit(w, blocksize, quant_type):
    a = f32(w).reshape(-1)
    absmax = blockwise_absmax(a, blocksize)
    scale = (np.float32(1.0) / absmax).astype(np.float32)
    scaled = np.clip(a * np.repeat(scale, blocksize)[: a.size], -1, 1).astype(np.float32)
    q = nearest(scaled, NF4 if quant_type == "nf4" else FP4_CPU)
    if q.size % 2:
        q = np.append(q, np.uint8(0))
    packed = (q[::2] << 4) | q[1::2]
    return packed.reshape(-1, 1), absmax


def quantize_blockwise(a, code, blocksize=256):
    absmax = blockwise_absmax(a, blocksize)
    scale = (np.float32(1.0) / absmax).astype(np.float32)
    scaled = np.clip(a * np.repeat(scale, blocksize)[: a.size], -1, 1).astype(np.float32)
    return nearest(scaled, code), absmax


def bnb_4bit(name, w, quant_type, double, state_type=None, blocksize=64):
    """Linear4bit's state dict entries for one module; state_type overrides the quant_type the
    state declares (the broken fixture)."""
    packed, absmax = quantize_4bit(w, blocksize, quant_type)
    state = {"quant_type": state_type or quant_type, "blocksize": blocksize, "dtype": "bfloat16",
             "shape": list(w.shape)}
    t = {f"{name}.weight": packed, f"{name}.weight.quant_map": CODES[quant_type]}
    if double:
        offset = np.float32(absmax.mean())
        code = dynamic_map()
        qabs, nested = quantize_blockwise((absmax - offset).astype(np.float32), code)
        t[f"{name}.weight.absmax"] = qabs
        t[f"{name}.weight.nested_absmax"] = nested
        t[f"{name}.weight.nested_quant_map"] = code
        state.update({"nested_blocksize": 256, "nested_dtype": "float32",
                      "nested_offset": float(offset)})
    else:
        t[f"{name}.weight.absmax"] = absmax
    key = f"{name}.weight.quant_state.bitsandbytes__{state['quant_type']}"
    t[key] = np.frombuffer(json.dumps(state).encode("utf-8"), dtype=np.uint8).copy()
    return t


def dequant_4bit(t, name):
    """dequantize_4bit as the kernels compute it, float32, from the stored tensors only."""
    key = [k for k in t if k.startswith(f"{name}.weight.quant_state.")][0]
    state = json.loads(bytes(t[key]).decode("utf-8"))
    code = CODES[state["quant_type"]]
    packed = t[f"{name}.weight"].reshape(-1)
    q = np.empty(packed.size * 2, dtype=np.uint8)
    q[0::2] = packed >> 4
    q[1::2] = packed & 0x0F
    n = int(np.prod(state["shape"]))
    absmax = t[f"{name}.weight.absmax"]
    if "nested_offset" in state:
        nested = t[f"{name}.weight.nested_absmax"]
        ncode = t[f"{name}.weight.nested_quant_map"]
        idx = np.arange(absmax.size) // state["nested_blocksize"]
        absmax = ((ncode[absmax] * nested[idx]).astype(np.float32) +
                  np.float32(state["nested_offset"])).astype(np.float32)
    scales = absmax[np.arange(n) // state["blocksize"]]
    return (code[q[:n]] * scales).astype(np.float32).reshape(state["shape"])


def bnb_8bit(name, w):
    """Int8Params: the weight cast to float16, then int8_vectorwise_quant."""
    a = f32(w).astype(np.float16).astype(np.float32)
    row = np.abs(a).max(axis=1).astype(np.float32)
    q = np.rint(a * (np.float32(127.0) / row)[:, None]).astype(np.int8)
    return {f"{name}.weight": q, f"{name}.SCB": row, f"{name}.weight_format": np.array(0, dtype=np.uint8)}


def dequant_8bit(t, name):
    q, scb = t[f"{name}.weight"], t[f"{name}.SCB"]
    return ((q.astype(np.float32) * scb[:, None]).astype(np.float32) *
            np.float32(7.874015718698502e-3)).astype(np.float32)


def bnb_config(four, quant_type="nf4", double=False):
    qc = {"quant_method": "bitsandbytes", "_load_in_4bit": four, "_load_in_8bit": not four,
          "load_in_4bit": four, "load_in_8bit": not four, "bnb_4bit_compute_dtype": "bfloat16",
          "bnb_4bit_quant_storage": "uint8", "bnb_4bit_quant_type": quant_type,
          "bnb_4bit_use_double_quant": double, "llm_int8_enable_fp32_cpu_offload": False,
          "llm_int8_has_fp16_weight": False, "llm_int8_skip_modules": None,
          "llm_int8_threshold": 6.0}
    return {**BASE_CONFIG, "quantization_config": qc}


def unquantized_numpy():
    return {k: np.array(SOURCE[k].view(mx.uint16)).view(np.uint16) for k in UNQUANTIZED}


def write_bnb(variant, tensors, config):
    d = os.path.join(OUT, variant)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    # BF16 source tensors pass through as raw uint16 bits; safetensors.numpy has no bfloat16, so
    # they are written with mx (below) and the rest with numpy into the same file via mx.
    arrays = {k: mx.array(v) for k, v in tensors.items()}
    for k in UNQUANTIZED:
        arrays[k] = SOURCE[k]
    mx.save_safetensors(os.path.join(d, "model.safetensors"), arrays, metadata={"format": "pt"})
    json.dump(config, open(os.path.join(d, "config.json"), "w"), indent=1)


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
    expected = {}

    def bnb4(variant, quant_type, double, broken_modules=()):
        tensors = {}
        for name, w in MODULES.items():
            state_type = ("fp4" if quant_type == "nf4" else "nf4") if name in broken_modules else None
            tensors.update(bnb_4bit(name, w, quant_type, double, state_type))
        write_bnb(variant, tensors, bnb_config(True, quant_type, double))
        expected[variant] = {"source": "source", "modules": {
            n: errors(dequant_4bit(tensors, n), w) for n, w in MODULES.items()}}

    bnb4("bnb-nf4", "nf4", False)
    bnb4("bnb-fp4", "fp4", False)
    bnb4("bnb-nf4-double", "nf4", True)
    # The defect: NF4 codes whose quant state declares fp4 (the kernels decode with the FP4 code).
    bnb4("bnb-nf4-broken", "nf4", False, broken_modules=("model.layers.0.self_attn.q_proj",))
    tensors = {}
    for name, w in MODULES.items():
        tensors.update(bnb_8bit(name, w))
    write_bnb("bnb-int8", tensors, bnb_config(False))
    expected["bnb-int8"] = {"source": "source", "modules": {
        n: errors(dequant_8bit(tensors, n), w) for n, w in MODULES.items()}}

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

    with open(os.path.join(OUT, "expected-bnb-mlx.json"), "w") as f:
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
    qc = bnb_config(True)["quantization_config"]
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
    qc8 = bnb_config(False)["quantization_config"]
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

#!/usr/bin/env python3
"""Writes the bitsandbytes compare fixtures (fixtures/compare/bnb-*) with bitsandbytes itself,
run on the CPU, from the BF16 source in fixtures/compare/source, and their rows of
fixtures/compare/expected-bnb-mlx.json (the MLX rows, written by make_bnb_mlx_fixtures.py, are
kept as they are).

- quantizer: each module is a bitsandbytes.nn.Linear4bit / Linear8bitLt holding the BF16 weight
  in a Params4bit / Int8Params, moved to the CPU, which quantizes it (Params4bit._quantize:
  functional.quantize_4bit, blocksize 64, compress_statistics for the nested variant;
  Int8Params._quantize: int8_vectorwise_quant of the float16 weight), and the module's own
  state_dict() names the tensors (weight, weight.absmax, weight.quant_map, weight.nested_*,
  weight.quant_state.bitsandbytes__<type>; SCB and weight_format), as save_pretrained writes them.
- decoder: what transformers does with a pre-quantized checkpoint: QuantState.from_dict over the
  module's weight.* entries, the nested absmax through functional.dequantize_blockwise plus the
  offset (functional.dequantize_4bit), then the library's 4-bit decode in float32
  (backends/default/ops.py _dequantize_4bit_compute, the flat `absmax[i // blocksize]` indexing
  of its CUDA kernel and of its quantizer). The native CPU kernel (backends/cpu/ops.py, which
  dequantize_4bit dispatches to for CPU tensors) indexes the blocks per row in bitsandbytes
  0.50.2 and returns other values for a weight whose rows are not a whole number of blocks
  (down_proj [128, 32], o_proj [128, 96] here; it does not round-trip its own quantize_4bit
  there): it is checked equal where rows are whole blocks and not used elsewhere. LLM.int8:
  functional.int8_vectorwise_dequant with the saved SCB.
Relative errors are float64 norms of the library's float32 values (what compare accumulates).

Run: "$(scripts/setup-oracles-venv.sh)" scripts/make_bnb_fixtures.py
"""
import json
import os
import shutil

import bitsandbytes as bnb
import torch
from safetensors.torch import load_file, save_file

from bnb_reference import bnb_config, decode_4bit, decode_8bit
from compare_source import linear_modules

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "fixtures", "compare")
SOURCE = load_file(os.path.join(OUT, "source", "model.safetensors"))
BASE_CONFIG = json.load(open(os.path.join(OUT, "source", "config.json")))
UNQUANTIZED = ["model.embed_tokens.weight", "lm_head.weight", "model.norm.weight"]
BLOCKSIZE = 64


def modules():
    """The linear modules under the per-expert names the quantized checkpoints use, as
    contiguous BF16 tensors."""
    return {name: w.contiguous() for name, w in linear_modules(SOURCE).items()}


MODULES = modules()


def quantize_4bit(w, quant_type, double):
    lin = bnb.nn.Linear4bit(w.shape[1], w.shape[0], bias=False, compute_dtype=torch.bfloat16,
                            compress_statistics=double, quant_type=quant_type,
                            quant_storage=torch.uint8, device="meta")
    lin.weight = bnb.nn.Params4bit(w.clone(), requires_grad=False, blocksize=BLOCKSIZE,
                                   compress_statistics=double, quant_type=quant_type,
                                   quant_storage=torch.uint8)
    lin = lin.to("cpu")
    assert lin.weight.bnb_quantized
    return {k: v.detach().clone() for k, v in lin.state_dict().items()}


def quantize_8bit(w):
    lin = bnb.nn.Linear8bitLt(w.shape[1], w.shape[0], bias=False, has_fp16_weights=False,
                              device="meta")
    lin.weight = bnb.nn.Int8Params(w.clone(), requires_grad=False, has_fp16_weights=False)
    lin = lin.to("cpu")
    assert lin.weight.dtype == torch.int8
    return {k: v.detach().clone() for k, v in lin.state_dict().items()}


def declare_other_type(state_dict):
    """The defect: NF4 codes under a quant state that declares fp4 (its key and its JSON)."""
    (key,) = [k for k in state_dict if ".quant_state." in k]
    packed = json.loads(bytes(state_dict.pop(key).tolist()).decode("utf-8"))
    packed["quant_type"] = "fp4"
    state_dict[key.replace("__nf4", "__fp4")] = torch.tensor(
        list(json.dumps(packed).encode("utf-8")), dtype=torch.uint8)
    return state_dict


def errors(decoded, w):
    d = decoded.to(torch.float32).double()
    ref = w.to(torch.float32).double()
    diff = d - ref
    return {"rel_error": float(torch.linalg.vector_norm(diff) / torch.linalg.vector_norm(ref)),
            "max_abs_error": float(diff.abs().max())}


def write(variant, tensors, config):
    d = os.path.join(OUT, variant)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    tensors = dict(tensors)
    for k in UNQUANTIZED:
        tensors[k] = SOURCE[k]
    save_file({k: v.contiguous() for k, v in tensors.items()},
              os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=1)


def main():
    path = os.path.join(OUT, "expected-bnb-mlx.json")
    expected = {k: v for k, v in json.load(open(path)).items() if not k.startswith("bnb-")}
    variants = {
        "bnb-nf4": ("nf4", False, None),
        "bnb-fp4": ("fp4", False, None),
        "bnb-nf4-double": ("nf4", True, None),
        # NF4 codes whose quant state declares fp4: the kernels decode them with the FP4 code.
        "bnb-nf4-broken": ("nf4", False, "model.layers.0.self_attn.q_proj"),
    }
    for variant, (quant_type, double, broken) in variants.items():
        tensors = {}
        for name, w in MODULES.items():
            sd = quantize_4bit(w, quant_type, double)
            if name == broken:
                sd = declare_other_type(sd)
            tensors.update({f"{name}.{k}": v for k, v in sd.items()})
        write(variant, tensors, bnb_config(BASE_CONFIG, True, quant_type, double))
        expected[variant] = {"source": "source", "modules": {
            n: errors(decode_4bit(tensors, n), w) for n, w in MODULES.items()}}
    tensors = {}
    for name, w in MODULES.items():
        tensors.update({f"{name}.{k}": v for k, v in quantize_8bit(w).items()})
    write("bnb-int8", tensors, bnb_config(BASE_CONFIG, False))
    expected["bnb-int8"] = {"source": "source", "modules": {
        n: errors(decode_8bit(tensors, n), w) for n, w in MODULES.items()}}
    with open(path, "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    for variant in ["bnb-nf4", "bnb-fp4", "bnb-nf4-double", "bnb-nf4-broken", "bnb-int8"]:
        rel = [m["rel_error"] for m in expected[variant]["modules"].values()]
        print(f"{variant:18} modules {len(rel):3}  rel min {min(rel):.4f} max {max(rel):.4f} "
              f"(bitsandbytes {bnb.__version__})")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the healthy GPTQ and AWQ fixture specs (fixtures/specs/base-gptq-int4.json,
base-awq-gemm.json) with the producers' tensor shapes:
- GPTQ: GPTQModel nn_modules/qlinear/__init__.py / AutoGPTQ qlinear_cuda_old.py buffers:
  qweight int32 [in*bits/32, out], qzeros int32 [ceil(in/g), out*bits/32], scales f16
  [ceil(in/g), out], g_idx int32 [in] = i // g. checkpoint_format "gptq" stores zero - 1, so a
  symmetric 4-bit zero (8) is the nibble 7 in every position: 0x77777777.
- AWQ GEMM: AutoAWQ awq/modules/linear/gemm.py WQLinear_GEMM: qweight [in, out/8],
  qzeros [in/g, out/8], scales [in/g, out]; asymmetric zeros, no g_idx.
Run from the repository root: python3 scripts/make_gptq_awq_specs.py"""
import json

WORDS = [-2023406815, 1985229328, 305419896, -1737075662]  # arbitrary packed codes
SCALES = [0.0021, 0.0034, 0.0017]
LAYERS = "model.layers.{0..1}"


def packed_words(value, bits, count):
    """`count` values packed as GPTQ does: value i at bit i*bits of the int32 word stream."""
    stream = 0
    for i in range(count):
        stream |= value << (i * bits)
    words = []
    for w in range(count * bits // 32):
        u = (stream >> (32 * w)) & 0xFFFFFFFF
        words.append(u - (1 << 32) if u >= 1 << 31 else u)  # as int32
    return words


def v1_zeros(bits):
    """checkpoint_format gptq stores the symmetric zero 2^(bits-1) minus one: 32 values' words."""
    return packed_words((1 << (bits - 1)) - 1, bits, 32)


def gptq_module(prefix, inn, out, group=128, bits=4):
    groups = -(-inn // group)
    return [
        {"name": prefix + ".qweight", "dtype": "I32", "shape": [inn * bits // 32, out], "values": WORDS},
        {"name": prefix + ".qzeros", "dtype": "I32", "shape": [groups, out * bits // 32], "values": v1_zeros(bits)},
        {"name": prefix + ".scales", "dtype": "F16", "shape": [groups, out], "values": SCALES},
        {"name": prefix + ".g_idx", "dtype": "I32", "shape": [inn], "values": [i // group for i in range(inn)]},
    ]


def awq_module(prefix, inn, out, group=128):
    groups = inn // group
    return [
        {"name": prefix + ".qweight", "dtype": "I32", "shape": [inn, out // 8], "values": WORDS},
        {"name": prefix + ".qzeros", "dtype": "I32", "shape": [groups, out // 8],
         "values": [0x76587A69, 0x68778967, 0x57867876]},
        {"name": prefix + ".scales", "dtype": "F16", "shape": [groups, out], "values": SCALES},
    ]


def awq_gemv_module(prefix, inn, out, group=128):
    """AutoAWQ gemv.py WQLinear_GEMV: qweight [out, in/8], qzeros [out, zeros_width],
    scales [out, zeros_width * 8], zeros_width = calculate_zeros_width(in, group) (the groups
    of a row rounded up to whole words, then to the kernel's split: x1 for group >= 128)."""
    multiplier = 1 if group >= 128 else {64: 2, 32: 4}[group]
    width = -(-(-(-(inn // group) // 8)) // multiplier) * multiplier
    return [
        {"name": prefix + ".qweight", "dtype": "I32", "shape": [out, inn // 8], "values": WORDS},
        {"name": prefix + ".qzeros", "dtype": "I32", "shape": [out, width],
         "values": [0x76587A69, 0x68778967, 0x57867876]},
        {"name": prefix + ".scales", "dtype": "F16", "shape": [out, width * 8], "values": SCALES},
    ]


def model(module):
    tensors = [
        {"name": "model.embed_tokens.weight", "dtype": "F16", "shape": [512, 256], "random": {"seed": 1}},
        {"name": LAYERS + ".{input,post_attention}_layernorm.weight", "dtype": "F16", "shape": [256], "fill": 1.0},
    ]
    tensors += module(LAYERS + ".self_attn.{q,k,v,o}_proj", 256, 256)
    tensors += module(LAYERS + ".mlp.{gate,up}_proj", 256, 512)
    tensors += module(LAYERS + ".mlp.down_proj", 512, 256)
    tensors += [
        {"name": "model.norm.weight", "dtype": "F16", "shape": [256], "fill": 1.0},
        {"name": "lm_head.weight", "dtype": "F16", "shape": [512, 256], "random": {"seed": 6}},
    ]
    return tensors


def config(quantization_config):
    return {"model_type": "qwen2", "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2,
            "vocab_size": 512, "tie_word_embeddings": False, "torch_dtype": "float16",
            "quantization_config": quantization_config}


def write(path, description, quantization_config, module):
    head = {"description": description, "only": True, "expect": {},
            "files": {"config.json": config(quantization_config)}}
    lines = json.dumps(head, indent=2)[:-2]
    body = ",\n".join("        " + json.dumps(t) for t in model(module))
    with open(path, "w") as f:
        f.write(lines + ',\n  "shards": {\n    "model.safetensors": {\n      "tensors": [\n'
                + body + "\n      ]\n    }\n  }\n}\n")


write("fixtures/specs/base-gptq-int4.json",
      "Healthy GPTQ 4-bit (GPTQModel / AutoGPTQ layout, checkpoint_format gptq): int32 qweight [in/8, out], "
      "qzeros [groups, out/8] with every nibble 7 (symmetric zero 8 stored as zero - 1), F16 scales "
      "[groups, out], g_idx [in] = i // 128.",
      {"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": False, "sym": True,
       "checkpoint_format": "gptq", "true_sequential": True, "damp_percent": 0.01},
      gptq_module)
write("fixtures/specs/base-gptq-int3.json",
      "Healthy GPTQ 3-bit, group_size -1: 32 values in every 3 int32 words, values straddling words "
      "(qweight [in*3/32, out], qzeros [1, out*3/32] every value 3 = zero 4 - 1).",
      {"quant_method": "gptq", "bits": 3, "group_size": -1, "desc_act": False, "sym": True,
       "checkpoint_format": "gptq"},
      lambda prefix, inn, out: gptq_module(prefix, inn, out, group=inn, bits=3))
write("fixtures/specs/base-awq-gemm.json",
      "Healthy AWQ GEMM 4-bit (AutoAWQ WQLinear_GEMM layout): int32 qweight [in, out/8], qzeros "
      "[in/128, out/8] (asymmetric zeros), F16 scales [in/128, out]; no g_idx.",
      {"quant_method": "awq", "bits": 4, "group_size": 128, "zero_point": True, "version": "gemm",
       "modules_to_not_convert": None},
      awq_module)
write("fixtures/specs/base-awq-gemv.json",
      "Healthy AWQ GEMV 4-bit (AutoAWQ WQLinear_GEMV layout): int32 qweight [out, in/8], qzeros "
      "[out, zeros_width] and F16 scales [out, zeros_width*8], the groups padded to whole words.",
      {"quant_method": "awq", "bits": 4, "group_size": 128, "zero_point": True, "version": "gemv"},
      awq_gemv_module)

#!/usr/bin/env python3
"""Writes fixtures/compare/: a small BF16 source checkpoint, quantized copies of it in each format
`ckptdoctor compare` decodes, one deliberately broken copy, and expected.json: the relative and
maximum absolute error of every module, computed here by an independent dequantizer (numpy and
ml_dtypes, FORMATS.md §11 read afresh) that shares no code with src/compare/. The producers'
own output for the formats that install on the CPU (AMD Quark fp8 / MXFP4, bitsandbytes, GPTQ /
AWQ through GPTQModel and auto-round, compressed-tensors, modelopt) is in fixtures/producers/,
measured by their own dequantizers (make_real_fixtures.py, make_oracle_producers.py), and
scripts/check_quark_oracle.py decodes this script's quark-* variants with Quark's own kernels
(agreement to 1.3e-15).

Run with the project venv: .venv/bin/python scripts/make_compare_oracle.py
"""
import json
import os
import shutil
import sys

import ml_dtypes
import numpy as np
from safetensors.numpy import save_file

from compare_source import linear_modules

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "compare")
E4M3, E2M1, BF16 = ml_dtypes.float8_e4m3fn, ml_dtypes.float4_e2m1fn, ml_dtypes.bfloat16
LAYERS, EXPERTS, HIDDEN, INTER, HEADS_DIM = 2, 4, 128, 32, 96
rng = np.random.default_rng(20261122)


def weight(rows, cols):
    w = rng.normal(0, 0.02, (rows, cols)).astype(np.float32)
    w.flat[rng.integers(0, w.size, 4)] *= 8  # a few outliers, as real weights have
    return w.astype(BF16)


# --- The BF16 source, with Qwen3.5-MoE's fused expert layout ([E, 2I, H] gate then up). ---------
source = {"model.embed_tokens.weight": weight(256, HIDDEN), "lm_head.weight": weight(256, HIDDEN),
          "model.norm.weight": np.ones(HIDDEN, dtype=BF16)}
for l in range(LAYERS):
    p = f"model.layers.{l}."
    source[p + "self_attn.q_proj.weight"] = weight(HEADS_DIM, HIDDEN)
    source[p + "self_attn.o_proj.weight"] = weight(HIDDEN, HEADS_DIM)
    source[p + "mlp.experts.gate_up_proj"] = np.stack([weight(2 * INTER, HIDDEN) for _ in range(EXPERTS)])
    source[p + "mlp.experts.down_proj"] = np.stack([weight(HIDDEN, INTER) for _ in range(EXPERTS)])

# The linear modules as the quantized checkpoints name them (per-expert keys).
modules = linear_modules(source, LAYERS, EXPERTS)

# Transposed fused sources ([E, H, 2I] / [E, I, H]): Qwen3-VL-MoE (gate|up concatenated) and
# gpt-oss (gate/up interleaved; compare pairs rows with columns one to one either way).
transposed = {"model.embed_tokens.weight": source["model.embed_tokens.weight"],
              "lm_head.weight": source["lm_head.weight"], "model.norm.weight": source["model.norm.weight"]}
for l in range(LAYERS):
    p = f"model.layers.{l}."
    transposed[p + "self_attn.q_proj.weight"] = source[p + "self_attn.q_proj.weight"]
    transposed[p + "mlp.experts.gate_up_proj"] = np.ascontiguousarray(source[p + "mlp.experts.gate_up_proj"].transpose(0, 2, 1))
    transposed[p + "mlp.experts.down_proj"] = np.ascontiguousarray(source[p + "mlp.experts.down_proj"].transpose(0, 2, 1))
# gpt-oss quantizes only the fused experts: its modules are the fused tensors.
gpt_oss_modules = {}
for l in range(LAYERS):
    p = f"model.layers.{l}.mlp.experts."
    gpt_oss_modules[p + "gate_up_proj"] = source[p + "gate_up_proj"]  # [E, 2I, H] = source^T
    gpt_oss_modules[p + "down_proj"] = source[p + "down_proj"]

BASE_CONFIG = {"architectures": ["Qwen3_5MoeForCausalLM"], "model_type": "qwen3_5_moe",
               "hidden_size": HIDDEN, "num_hidden_layers": LAYERS, "num_experts": EXPERTS,
               "moe_intermediate_size": INTER, "vocab_size": 256, "tie_word_embeddings": False}


def unquantized():
    return {k: v for k, v in source.items() if not k.startswith("model.layers.")}


def blocks(w, br, bc):
    """amax of each [br, bc] block (edge blocks partial)."""
    rows, cols = w.shape
    gr, gc = -(-rows // br), -(-cols // bc)
    out = np.zeros((gr, gc), np.float32)
    for i in range(gr):
        for j in range(gc):
            out[i, j] = np.abs(w[i * br:(i + 1) * br, j * bc:(j + 1) * bc]).max()
    return out


def expand(s, br, bc, shape):
    return np.repeat(np.repeat(s, br, axis=0), bc, axis=1)[:shape[0], :shape[1]]


def pack_e2m1(q):
    codes = q.astype(E2M1).view(np.uint8) & 0x0F
    return (codes[:, 0::2] | (codes[:, 1::2] << 4)).astype(np.uint8)


# --- Quantizers (how the fixture files are made; any reasonable quantizer would do). -----------
def q_fp8_block(name, w, t):
    w = w.astype(np.float32)
    s = blocks(w, 32, 32) / 448
    s[s == 0] = 1
    t[name + ".weight"] = (w / expand(s, 32, 32, w.shape)).astype(E4M3)
    t[name + ".weight_scale_inv"] = s


def q_ct_fp8_channel(name, w, t):
    w = w.astype(np.float32)
    s = (np.abs(w).max(axis=1, keepdims=True) / 448).astype(BF16)
    t[name + ".weight"] = (w / s.astype(np.float32)).astype(E4M3)
    t[name + ".weight_scale"] = s


def nvfp4_block_scales(w, global_mult):
    return np.clip(blocks(w, 1, 16) / 6 * global_mult, -448, 448).astype(E4M3)


def q_ct_nvfp4(name, w, t):
    w = w.astype(np.float32)
    g = np.float32(2688 / np.abs(w).max())
    s = nvfp4_block_scales(w, g)
    s = np.where(s.astype(np.float32) == 0, np.float32(1), s.astype(np.float32)).astype(E4M3)
    eff = expand(s.astype(np.float32) / g, 1, 16, w.shape)
    t[name + ".weight_packed"] = pack_e2m1(np.clip(w / eff, -6, 6))
    t[name + ".weight_scale"] = s
    t[name + ".weight_global_scale"] = np.array([g], np.float32)
    t[name + ".input_global_scale"] = np.array([100.0], np.float32)


def q_modelopt_nvfp4(name, w, t):
    w = w.astype(np.float32)
    ws2 = np.float32(np.abs(w).max() / 2688)
    s = nvfp4_block_scales(w, 1 / ws2)
    s = np.where(s.astype(np.float32) == 0, np.float32(1), s.astype(np.float32)).astype(E4M3)
    eff = expand(s.astype(np.float32) * ws2, 1, 16, w.shape)
    t[name + ".weight"] = pack_e2m1(np.clip(w / eff, -6, 6))
    t[name + ".weight_scale"] = s
    t[name + ".weight_scale_2"] = np.array(ws2, np.float32)  # 0-d, as modelopt writes it
    t[name + ".input_scale"] = np.array(0.01, np.float32)


def q_ct_mxfp4(name, w, t):
    w = w.astype(np.float32)
    amax = blocks(w, 1, 32)
    e = np.floor(np.log2(np.maximum(amax, 2.0 ** -100))) - 2
    t[name + ".weight_packed"] = pack_e2m1(np.clip(w / expand(2.0 ** e, 1, 32, w.shape), -6, 6))
    t[name + ".weight_scale"] = (e + 127).astype(np.uint8)


def q_fbgemm_fp8(name, w, t):
    """fbgemm quantize_fp8_per_row as transformers integrations/fbgemm_fp8.py calls it: one F32
    scale per output row, amax / 448, stored [out, 1]."""
    w = w.astype(np.float32)
    s = np.abs(w).max(axis=1, keepdims=True) / np.float32(448)
    s[s == 0] = 1
    t[name + ".weight"] = (w / s).astype(E4M3)
    t[name + ".weight_scale"] = s.astype(np.float32)


def q_quark_fp8_tensor(name, w, t):
    """Quark fp8_e4m3 per_tensor: one F32 scalar weight_scale (and a static input_scale)."""
    w = w.astype(np.float32)
    s = np.float32(np.abs(w).max() / 448)
    t[name + ".weight"] = (w / s).astype(E4M3)
    t[name + ".weight_scale"] = np.array(s, np.float32)
    t[name + ".input_scale"] = np.array(0.01, np.float32)


def q_quark_fp8_channel_legacy(name, w, t):
    """Quark fp8_e4m3 per_channel written by an older export under the quantizer modules' names
    (weight_quantizer.scale [out], input_quantizer.scale)."""
    w = w.astype(np.float32)
    s = (np.abs(w).max(axis=1) / 448).astype(np.float32)
    s[s == 0] = 1
    t[name + ".weight"] = (w / s[:, None]).astype(E4M3)
    t[name + ".weight_quantizer.scale"] = s
    t[name + ".input_quantizer.scale"] = np.array(0.01, np.float32)


def q_quark_mxfp4(name, w, t):
    """Quark OCP MXFP4: shared exponent floor(log2(amax)) - 2 per 32 elements (E2M1's emax),
    U8 [out, in/2] codes low nibble first, U8 E8M0 weight_scale [out, in/32]."""
    w = w.astype(np.float32)
    amax = blocks(w, 1, 32)
    e = np.floor(np.log2(np.maximum(amax, 2.0 ** -100))) - 2
    t[name + ".weight"] = pack_e2m1(np.clip(w / expand(2.0 ** e, 1, 32, w.shape), -6, 6))
    t[name + ".weight_scale"] = (e + 127).astype(np.uint8)


def pack_bits(u, bits):
    """Dense packing: element i of a row at bit i*bits of the row's little-endian int32 words."""
    rows, cols = u.shape
    stream = ((u[:, :, None].astype(np.uint32) >> np.arange(bits)) & 1).astype(np.uint8).reshape(rows, cols * bits)
    words = -(-cols * bits // 32)
    stream = np.pad(stream, ((0, 0), (0, words * 32 - cols * bits)))
    return np.packbits(stream, axis=1, bitorder="little").view("<i4").reshape(rows, words)


def q_ct_int(bits, group, symmetric):
    def quantize(name, w, t):
        w = w.astype(np.float32)
        g = w.reshape(w.shape[0], -1, group)
        qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        if symmetric:
            s = (np.abs(g).max(axis=2) / ((qmax - qmin) / 2)).astype(BF16)
            z = np.zeros_like(s, dtype=np.int32)
        else:
            lo, hi = np.minimum(g.min(axis=2), 0), np.maximum(g.max(axis=2), 0)
            s = ((hi - lo) / (qmax - qmin)).astype(BF16)
            z = np.clip(np.round(qmin - lo / s.astype(np.float32)), qmin, qmax).astype(np.int32)
        sf = s.astype(np.float32)
        q = np.clip(np.round(w / expand(sf, 1, group, w.shape) + expand(z, 1, group, w.shape)), qmin, qmax)
        t[name + ".weight_scale"] = s
        if bits == 8:
            t[name + ".weight"] = q.astype(np.int8)
            if not symmetric:
                t[name + ".weight_zero_point"] = z.astype(np.int8)
            return
        t[name + ".weight_packed"] = pack_bits((q - qmin).astype(np.uint32), bits)
        t[name + ".weight_shape"] = np.array(w.shape, np.int64)
        if not symmetric:  # packed along dim 0: transpose, pack rows, transpose back
            t[name + ".weight_zero_point"] = np.ascontiguousarray(pack_bits((z - qmin).T.astype(np.uint32), bits).T)
    return quantize


def q_ct_dense(kind, bits, group, symmetric):
    """compressed-tensors save_compressed=False (format "dense", status "frozen"): the BF16
    weight stays as it is, next to the scale (and zero point) the quantization computed."""
    def quantize(name, w, t):
        wf = w.astype(np.float32)
        g = group or wf.shape[1]
        grouped = wf.reshape(wf.shape[0], -1, g)
        if kind == "fp8":
            s = (np.abs(grouped).max(axis=2) / 448).astype(BF16)
        elif symmetric:
            s = (np.abs(grouped).max(axis=2) / ((2 ** bits - 1) / 2)).astype(BF16)
        else:
            qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
            lo, hi = np.minimum(grouped.min(axis=2), 0), np.maximum(grouped.max(axis=2), 0)
            s = ((hi - lo) / (qmax - qmin)).astype(BF16)
            t[name + ".weight_zero_point"] = np.clip(np.round(qmin - lo / s.astype(np.float32)), qmin, qmax).astype(np.int8)
        t[name + ".weight"] = w
        t[name + ".weight_scale"] = s
    return quantize


def q_ct_dense_nvfp4(name, w, t):
    """NVFP4 frozen, not compressed: the BF16 weight, E4M3 group scales, the F32 global scale."""
    tmp = {}
    q_ct_nvfp4(name, w, tmp)
    t[name + ".weight"] = w
    t[name + ".weight_scale"] = tmp[name + ".weight_scale"]
    t[name + ".weight_global_scale"] = tmp[name + ".weight_global_scale"]


def fake_quantize_nvfp4(t, name):
    """fake_quantize with a global scale: s / G, x / s_eff and the dequantization in float32
    (the F32 global promotes them); clamp to +-6, then cast_to_fp4 (to nearest, ties to even)."""
    x = t[name + ".weight"].astype(np.float32)
    s_eff = t[name + ".weight_scale"].astype(np.float32) / t[name + ".weight_global_scale"][0]
    s = expand(s_eff.astype(np.float32), 1, 16, x.shape)
    q = np.clip(x / s, -6, 6).astype(E2M1).astype(np.float32)
    return q * s


def fake_quantize(t, name, kind, bits, group):
    """compressed_tensors/quantization/lifecycle/forward.py fake_quantize, with torch's dtypes:
    x / s and the dequantization in BF16 (ml_dtypes rounds each BF16 operation's float32 result
    to nearest even, as torch does), clamp, then round half to even / cast to E4M3."""
    x = t[name + ".weight"]
    s = expand(t[name + ".weight_scale"], 1, group or x.shape[1], x.shape)
    zp = t.get(name + ".weight_zero_point")
    y = x / s
    if zp is not None:
        z = expand(zp, 1, group or x.shape[1], x.shape).astype(BF16)
        y = y + z
    if kind == "fp8":
        q = np.clip(y.astype(np.float32), -448, 448).astype(E4M3).astype(np.float32)
    else:
        q = np.round(np.clip(y.astype(np.float32), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1))
    q = q.astype(BF16)
    if zp is not None:
        q = q - z
    return (q * s).astype(np.float32)


def q_gpt_oss(name, w, t):
    """gpt-oss MXFP4: [E, out, in/32, 16] blocks, [E, out, in/32] E8M0 scales."""
    blocks_, scales_ = [], []
    for e in range(w.shape[0]):
        tmp = {}
        q_ct_mxfp4("x", w[e], tmp)
        blocks_.append(tmp["x.weight_packed"].reshape(w.shape[1], w.shape[2] // 32, 16))
        scales_.append(tmp["x.weight_scale"])
    t[name + "_blocks"] = np.stack(blocks_)
    t[name + "_scales"] = np.stack(scales_)
    t[name + "_bias"] = np.zeros(w.shape[:2], BF16)


# --- The independent dequantizer: FORMATS.md §11, float32 products, float64 errors. ------------
def unpack_e2m1(packed):
    lo, hi = packed & 0x0F, packed >> 4
    codes = np.empty((packed.shape[0], packed.shape[1] * 2), np.uint8)
    codes[:, 0::2], codes[:, 1::2] = lo, hi
    return codes.view(E2M1).astype(np.float32)


def unpack_bits(words, bits, count):
    stream = np.unpackbits(words.astype("<i4").view(np.uint8), axis=1, bitorder="little")
    stream = stream[:, :count * bits].reshape(words.shape[0], count, bits).astype(np.int64)
    return (stream << np.arange(bits)).sum(axis=2)


def dequant_int(t, name, bits, group):
    s = t[name + ".weight_scale"].astype(np.float32)
    if bits == 8:
        q = t[name + ".weight"].astype(np.float32)
        z = t.get(name + ".weight_zero_point", np.zeros(s.shape, np.int8)).astype(np.float32)
    else:
        rows, cols = t[name + ".weight_shape"]
        q = (unpack_bits(t[name + ".weight_packed"], bits, cols) - 2 ** (bits - 1)).astype(np.float32)
        zp = t.get(name + ".weight_zero_point")
        z = np.zeros(s.shape, np.float32) if zp is None else \
            (unpack_bits(np.ascontiguousarray(zp.T), bits, rows).T - 2 ** (bits - 1)).astype(np.float32)
    return (q - expand(z, 1, group, q.shape)) * expand(s, 1, group, q.shape)


def dequant(fmt, t, name):
    if fmt == "gpt-oss-mxfp4":
        b, sc = t[name + "_blocks"], t[name + "_scales"]
        out = []
        for e in range(b.shape[0]):
            q = unpack_e2m1(b[e].reshape(b.shape[1], -1))
            out.append(q * expand(sc[e].view(ml_dtypes.float8_e8m0fnu).astype(np.float32), 1, 32, q.shape))
        return np.stack(out)
    if fmt == "vl-fp8-block":
        fmt = "fp8-block"
    if fmt == "ct-dense-nvfp4":
        return fake_quantize_nvfp4(t, name)
    if fmt.startswith("ct-dense-"):
        kind, bits, group = {"ct-dense-int4-asym": ("int", 4, 32), "ct-dense-fp8-channel": ("fp8", 8, None)}[fmt]
        return fake_quantize(t, name, kind, bits, group)
    if fmt.startswith("ct-int"):
        bits, group = {"ct-int4-group": (4, 32), "ct-int3-asym": (3, 32), "ct-int8-channel": (8, None)}[fmt]
        return dequant_int(t, name, bits, group or t[name + ".weight"].shape[1])
    if fmt == "fp8-block":
        q = t[name + ".weight"].astype(np.float32)
        return q * expand(t[name + ".weight_scale_inv"].astype(np.float32), 32, 32, q.shape)
    if fmt == "ct-fp8-channel":
        return t[name + ".weight"].astype(np.float32) * t[name + ".weight_scale"].astype(np.float32)
    if fmt == "ct-nvfp4":
        q = unpack_e2m1(t[name + ".weight_packed"])
        eff = t[name + ".weight_scale"].astype(np.float32) / t[name + ".weight_global_scale"][0]
        return q * expand(eff, 1, 16, q.shape)
    if fmt.startswith("modelopt-nvfp4"):
        q = unpack_e2m1(t[name + ".weight"])
        eff = t[name + ".weight_scale"].astype(np.float32) * t[name + ".weight_scale_2"]
        return q * expand(eff.astype(np.float32), 1, 16, q.shape)
    # fbgemm_fp8 and Quark fp8 (vLLM quantization/fbgemm_fp8.py, quark/schemes/quark_w8a8_fp8.py):
    # W = fp8(q) x s, s one value per row ([out, 1] or [out]) or per tensor.
    if fmt.startswith("fbgemm-fp8") or fmt == "quark-fp8":
        return t[name + ".weight"].astype(np.float32) * t[name + ".weight_scale"].astype(np.float32)
    if fmt == "quark-fp8-channel-legacy":
        return t[name + ".weight"].astype(np.float32) * t[name + ".weight_quantizer.scale"][:, None]
    # Quark OCP MX (quark/schemes/quark_ocp_mx.py, quark/utils.py mxfp4_to_f32 / e8m0_to_f32):
    # low nibble first, W = e2m1 x 2^(s - 127).
    if fmt.startswith("quark-mxfp4"):
        q = unpack_e2m1(t[name + ".weight"])
        return q * expand(np.exp2(t[name + ".weight_scale"].astype(np.float32) - 127), 1, 32, q.shape)
    if fmt == "ct-mxfp4":
        q = unpack_e2m1(t[name + ".weight_packed"])
        scale = t[name + ".weight_scale"].view(ml_dtypes.float8_e8m0fnu).astype(np.float32)
        return q * expand(scale, 1, 32, q.shape)
    raise ValueError(fmt)


QUARK_FP8_SPEC = {"dtype": "fp8_e4m3", "qscheme": "per_tensor", "ch_axis": None, "group_size": None,
                  "symmetric": True, "round_method": "half_even", "scale_type": "float", "is_dynamic": False}
QUARK_MXFP4_SPEC = {"dtype": "fp4", "qscheme": "per_group", "ch_axis": -1, "group_size": 32,
                    "symmetric": None, "round_method": "half_even", "scale_type": "float",
                    "scale_format": "e8m0", "is_dynamic": False}


def quark_config(weight, input_tensors):
    return {"quantization_config": {
        "quant_method": "quark", "global_quant_config": {
            "weight": weight, "input_tensors": input_tensors, "output_tensors": None, "bias": None},
        "layer_quant_config": {}, "layer_type_quant_config": {}, "exclude": ["lm_head"],
        "export": {"kv_cache_group": [], "pack_method": "reorder", "weight_format": "real_quantized",
                   "weight_merge_groups": None}}}


FBGEMM_CONFIG = {"quantization_config": {"quant_method": "fbgemm_fp8", "activation_scale_ub": 1200.0,
                                         "modules_to_not_convert": ["lm_head"]}}

VARIANTS = {
    "fp8-block": (q_fp8_block, {"quantization_config": {
        "quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
        "weight_block_size": [32, 32], "modules_to_not_convert": ["lm_head"]}}, None),
    "ct-fp8-channel": (q_ct_fp8_channel, {"quantization_config": {
        "quant_method": "compressed-tensors", "format": "float-quantized",
        "config_groups": {"group_0": {"targets": ["Linear"], "weights": {
            "num_bits": 8, "type": "float", "strategy": "channel", "dynamic": False,
            "symmetric": True}}}, "ignore": ["lm_head"]}}, None),
    "ct-nvfp4": (q_ct_nvfp4, {"quantization_config": {
        "quant_method": "compressed-tensors", "format": "nvfp4-pack-quantized",
        "config_groups": {"group_0": {"targets": ["Linear"], "weights": {
            "num_bits": 4, "type": "float", "strategy": "tensor_group", "group_size": 16,
            "symmetric": True, "dynamic": False}, "input_activations": {
            "num_bits": 4, "type": "float", "strategy": "tensor_group", "group_size": 16,
            "symmetric": True, "dynamic": "local"}}}, "ignore": ["lm_head"]}}, None),
    "modelopt-nvfp4": (q_modelopt_nvfp4, {}, {"quant_algo": "NVFP4", "group_size": 16,
                                              "exclude_modules": ["lm_head"]}),
    "ct-mxfp4": (q_ct_mxfp4, {"quantization_config": {
        "quant_method": "compressed-tensors", "format": "mxfp4-pack-quantized",
        "config_groups": {"group_0": {"targets": ["Linear"], "weights": {
            "num_bits": 4, "type": "float", "strategy": "group", "group_size": 32,
            "symmetric": True, "dynamic": False, "scale_dtype": "torch.uint8"}}},
        "ignore": ["lm_head"]}}, None),
    "ct-int4-group": (q_ct_int(4, 32, True), {"quantization_config": {
        "quant_method": "compressed-tensors", "format": "pack-quantized",
        "config_groups": {"group_0": {"targets": ["Linear"], "weights": {
            "num_bits": 4, "type": "int", "strategy": "group", "group_size": 32,
            "symmetric": True, "dynamic": False}}}, "ignore": ["lm_head"]}}, None),
    "ct-int3-asym": (q_ct_int(3, 32, False), {"quantization_config": {
        "quant_method": "compressed-tensors", "format": "pack-quantized",
        "config_groups": {"group_0": {"targets": ["Linear"], "weights": {
            "num_bits": 3, "type": "int", "strategy": "group", "group_size": 32,
            "symmetric": False, "dynamic": False}}}, "ignore": ["lm_head"]}}, None),
    "ct-int8-channel": (None, {"quantization_config": {
        "quant_method": "compressed-tensors", "format": "int-quantized",
        "config_groups": {"group_0": {"targets": ["Linear"], "weights": {
            "num_bits": 8, "type": "int", "strategy": "channel", "symmetric": False,
            "dynamic": False}}}, "ignore": ["lm_head"]}}, None),
    "gpt-oss-mxfp4": (q_gpt_oss, {"architectures": ["GptOssForCausalLM"], "model_type": "gpt_oss",
                                   "quantization_config": {"quant_method": "mxfp4", "modules_to_not_convert": [
                                       "model.layers.*.self_attn", "model.layers.*.mlp.router",
                                       "model.embed_tokens", "lm_head"]}}, None),
    "vl-fp8-block": (q_fp8_block, {"architectures": ["Qwen3VLMoeForConditionalGeneration"], "model_type": "qwen3_vl_moe",
                                   "quantization_config": {
                                       "quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                                       "weight_block_size": [32, 32], "modules_to_not_convert": ["lm_head"]}}, None),
    # save_compressed=False: BF16 weights with their sidecars, measured as fake-quantized.
    "ct-dense-int4-asym": (q_ct_dense("int", 4, 32, False), {"quantization_config": {
        "quant_method": "compressed-tensors", "format": "dense", "quantization_status": "frozen",
        "config_groups": {"group_0": {"targets": ["Linear"], "weights": {
            "num_bits": 4, "type": "int", "strategy": "group", "group_size": 32,
            "symmetric": False, "dynamic": False}}}, "ignore": ["lm_head"]}}, None),
    "ct-dense-fp8-channel": (q_ct_dense("fp8", 8, None, True), {"quantization_config": {
        "quant_method": "compressed-tensors", "format": "dense", "quantization_status": "frozen",
        "config_groups": {"group_0": {"targets": ["Linear"], "weights": {
            "num_bits": 8, "type": "float", "strategy": "channel", "dynamic": False,
            "symmetric": True}}}, "ignore": ["lm_head"]}}, None),
    "ct-dense-nvfp4": (q_ct_dense_nvfp4, {"quantization_config": {
        "quant_method": "compressed-tensors", "format": "dense", "quantization_status": "frozen",
        "config_groups": {"group_0": {"targets": ["Linear"], "weights": {
            "num_bits": 4, "type": "float", "strategy": "tensor_group", "group_size": 16,
            "symmetric": True, "dynamic": False}}}, "ignore": ["lm_head"]}}, None),
    # The defects compare exists for: an inverted global scale and swapped nibbles.
    "modelopt-nvfp4-broken": (q_modelopt_nvfp4, {}, {"quant_algo": "NVFP4", "group_size": 16,
                                                     "exclude_modules": ["lm_head"]}),
    # Meta's fbgemm_fp8 and AMD Quark exports (issue 12); the broken copies store the reciprocal
    # of each row's scale and swap the nibbles of one module.
    "fbgemm-fp8": (q_fbgemm_fp8, FBGEMM_CONFIG, None),
    "quark-fp8": (q_quark_fp8_tensor, quark_config(QUARK_FP8_SPEC, QUARK_FP8_SPEC), None),
    "quark-fp8-channel-legacy": (q_quark_fp8_channel_legacy, quark_config(
        {**QUARK_FP8_SPEC, "qscheme": "per_channel", "ch_axis": 0}, QUARK_FP8_SPEC), None),
    "quark-mxfp4": (q_quark_mxfp4, quark_config(QUARK_MXFP4_SPEC, {**QUARK_MXFP4_SPEC, "is_dynamic": True}), None),
    "fbgemm-fp8-broken": (q_fbgemm_fp8, FBGEMM_CONFIG, None),
    "quark-mxfp4-broken": (q_quark_mxfp4, quark_config(QUARK_MXFP4_SPEC, {**QUARK_MXFP4_SPEC, "is_dynamic": True}), None),
}


# Copies written across shards the way real exports are: tensors in name order dealt out to
# SHARDS files in turn, so a module's weight, scales, zero points and global scale sit in
# different files (the global scale of NVFP4 in another shard than its weight, issue 10 #11).
SHARDS = 3
SHARDED = {"ct-nvfp4-sharded": "ct-nvfp4", "modelopt-nvfp4-sharded": "modelopt-nvfp4",
           "ct-int3-asym-sharded": "ct-int3-asym", "fp8-block-sharded": "fp8-block"}


def write_sharded(d, tensors):
    names = sorted(tensors)
    files = [f"model-{i + 1:05d}-of-{SHARDS:05d}.safetensors" for i in range(SHARDS)]
    weight_map = {n: files[i % SHARDS] for i, n in enumerate(names)}
    for f in files:
        save_file({n: tensors[n] for n in names if weight_map[n] == f}, os.path.join(d, f),
                  metadata={"format": "pt"})
    total = sum(int(np.asarray(v).nbytes) for v in tensors.values())
    json.dump({"metadata": {"total_size": total}, "weight_map": weight_map},
              open(os.path.join(d, "model.safetensors.index.json"), "w"), indent=1)


def write(dirname, tensors, config, hf_quant, sharded=False):
    d = os.path.join(OUT, dirname)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    if sharded:
        write_sharded(d, tensors)
    else:
        save_file(tensors, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    json.dump(config, open(os.path.join(d, "config.json"), "w"), indent=1)
    if hf_quant:
        json.dump({"producer": {"name": "modelopt", "version": "0.35.0"},
                   "quantization": hf_quant}, open(os.path.join(d, "hf_quant_config.json"), "w"), indent=1)


SOURCES = {"gpt-oss-mxfp4": "source-transposed", "vl-fp8-block": "source-transposed",
           **{v: "source-sharded" for v in SHARDED}}


def main():
    expected = {}
    write("source", source, BASE_CONFIG, None)
    write("source-transposed", transposed, {**BASE_CONFIG, "model_type": "qwen3_vl_moe"}, None)
    write("source-sharded", source, BASE_CONFIG, None, sharded=True)
    variants = {**VARIANTS, **{v: VARIANTS[base] for v, base in SHARDED.items()}}
    for variant, (quantize, config_extra, hf_quant) in variants.items():
        base = SHARDED.get(variant, variant)
        if quantize is None:  # int8 channel: one group spanning the row
            quantize = lambda name, w, t: q_ct_int(8, w.shape[1], False)(name, w, t)
        tensors = unquantized()
        variant_modules = gpt_oss_modules if base == "gpt-oss-mxfp4" else modules
        if base == "gpt-oss-mxfp4":  # attention stays BF16 (modules_to_not_convert)
            tensors.update({k: v for k, v in source.items() if "self_attn" in k})
        for name, w in variant_modules.items():
            quantize(name, w, tensors)
        if base == "fp8-block":  # a module the source does not have: listed as unpaired
            quantize("model.layers.0.self_attn.k_proj", weight(32, HIDDEN), tensors)
        if variant == "fbgemm-fp8-broken":
            n = "model.layers.0.self_attn.q_proj.weight_scale"
            tensors[n] = (1 / tensors[n]).astype(np.float32)  # the divisor, not the multiplier
        if variant == "quark-mxfp4-broken":
            n = "model.layers.1.self_attn.o_proj.weight"
            tensors[n] = ((tensors[n] >> 4) | (tensors[n] << 4)).astype(np.uint8)  # nibbles swapped
        if variant == "modelopt-nvfp4-broken":
            n = "model.layers.0.self_attn.q_proj.weight_scale_2"
            tensors[n] = np.array(1 / tensors[n], np.float32)  # the other convention's direction
            n = "model.layers.1.self_attn.o_proj.weight"
            tensors[n] = ((tensors[n] >> 4) | (tensors[n] << 4)).astype(np.uint8)  # nibbles swapped
        write(variant, tensors, {**BASE_CONFIG, **config_extra}, hf_quant, variant in SHARDED)
        errors = {}
        for name, w in variant_modules.items():
            if base == "vl-fp8-block" and "o_proj" in name:
                continue  # the transposed source has no o_proj: only q_proj and the experts
            w_hat = dequant(base, tensors, name).astype(np.float64)
            ref = w.astype(np.float32).astype(np.float64)
            diff = w_hat - ref
            errors[name] = {"rel_error": float(np.sqrt((diff ** 2).sum()) / np.sqrt((ref ** 2).sum())),
                            "max_abs_error": float(np.abs(diff).max())}
        expected[variant] = {"source": SOURCES.get(variant, "source"), "modules": errors}
    json.dump(expected, open(os.path.join(OUT, "expected.json"), "w"), indent=1, sort_keys=True)
    print(f"wrote {len(variants)} variants and the sources to {os.path.normpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()

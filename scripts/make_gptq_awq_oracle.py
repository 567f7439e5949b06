#!/usr/bin/env python3
"""Writes fixtures/compare-gptq/: a small BF16 Llama-shaped source, GPTQ / AWQ / compressed-tensors
actorder copies of it, and expected.json with every module's relative and maximum absolute error
computed by an independent dequantizer in numpy that shares no code with src/compare/.

The packing and the dequantization follow the producers' source, cited per function (GPTQModel
f4c327a, AutoAWQ 88e4c76, compressed-tensors 0.19). This was written when torch was thought not
to install here; it does (CPU wheels from PyPI), and GPTQModel and auto-round themselves now write
GPTQ 4-bit sym / asym / desc_act and AWQ GEMM checkpoints into fixtures/producers/, measured by
GPTQModel's own dequantizers (scripts/make_oracle_producers.py). This numpy oracle stays for what
those runs do not cover: 2 / 3 / 8 bits, gptq_v2 zeros, group_size -1, AWQ GEMV, a
quantize_config.json-only declaration, compressed-tensors actorder and the flipped-convention
defect. scripts/check_gptq_awq_oracle.py decodes its GPTQ and AWQ GEMM variants with GPTQModel's
own dequantizers and requires its figures to 1e-9 (they agree to 2.9e-16; GEMV and actorder are
not GPTQModel CPU formats).
- packing: GPTQModel gptqmodel/nn_modules/qlinear/__init__.py pack_block (qweight down the input
  dimension, qzeros along the row; AutoGPTQ's v1 stores zero - 1), AutoAWQ
  awq/modules/linear/gemm.py and gemv.py from_linear (order_map [0, 2, 4, 6, 1, 3, 5, 7] / plain,
  calculate_zeros_width), compressed-tensors pack_to_int32 (dense rows, u = q + 2^(bits-1)).
- quantizers: GPTQModel quantization/quantizer.py find_params (sym: zero (maxq+1)/2; asym:
  round(-xmin/scale)) with desc_act groups over the permuted columns (g_idx[perm[i]] = i // g),
  AutoAWQ awq/quantize/quantizer.py pseudo_quantize_tensor (zero_point); round to nearest, no
  Hessian updates (the error is the quantizer's, the layout is what is tested).
- dequantization: GPTQModel dequantize_weight (shift by wf, the 3-bit word fix-ups, v1 zeros + 1,
  scales[g_idx] * (w - zeros[g_idx])), AutoAWQ awq/utils/packing_utils.py unpack_awq /
  reverse_awq_order / dequantize_gemm, compressed-tensors forward.py with g_idx.

Run with the project venv: .venv/bin/python scripts/make_gptq_awq_oracle.py
"""
import json
import os
import shutil
import sys

import ml_dtypes
import numpy as np
from safetensors.numpy import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "compare-gptq")
BF16 = ml_dtypes.bfloat16
LAYERS, HIDDEN, INTER, VOCAB = 1, 128, 256, 64
rng = np.random.default_rng(20261207)


def weight(rows, cols):
    w = rng.normal(0, 0.02, (rows, cols)).astype(np.float32)
    w.flat[rng.integers(0, w.size, 4)] *= 6  # a few outliers, as real weights have
    return w.astype(BF16)


CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": HIDDEN,
          "intermediate_size": INTER, "num_hidden_layers": LAYERS, "num_attention_heads": 4,
          "num_key_value_heads": 4, "head_dim": 32, "vocab_size": VOCAB,
          "tie_word_embeddings": False, "torch_dtype": "bfloat16"}
source = {"model.embed_tokens.weight": weight(VOCAB, HIDDEN), "lm_head.weight": weight(VOCAB, HIDDEN),
          "model.norm.weight": np.ones(HIDDEN, dtype=BF16)}
modules = {}
for l in range(LAYERS):
    p = f"model.layers.{l}."
    source[p + "input_layernorm.weight"] = np.ones(HIDDEN, dtype=BF16)
    source[p + "post_attention_layernorm.weight"] = np.ones(HIDDEN, dtype=BF16)
    for name, (rows, cols) in {"self_attn.q_proj": (HIDDEN, HIDDEN), "self_attn.k_proj": (HIDDEN, HIDDEN),
                               "self_attn.v_proj": (HIDDEN, HIDDEN), "self_attn.o_proj": (HIDDEN, HIDDEN),
                               "mlp.gate_proj": (INTER, HIDDEN), "mlp.up_proj": (INTER, HIDDEN),
                               "mlp.down_proj": (HIDDEN, INTER)}.items():
        source[p + name + ".weight"] = weight(rows, cols)
        modules[p + name] = source[p + name + ".weight"]


def as_i32(u32):
    return np.ascontiguousarray(u32).astype(np.uint32).view(np.int32)


# --- Packers -------------------------------------------------------------------------------------
def pack_down_columns(u, bits):
    """GPTQ qweight: [in, out] values, value k of column n at bit k*bits of the column's words."""
    rows, cols = u.shape
    assert rows * bits % 32 == 0
    stream = ((u[:, None, :].astype(np.uint64) >> np.arange(bits, dtype=np.uint64)[None, :, None]) & np.uint64(1))
    stream = stream.reshape(rows * bits, cols)  # bit k*bits + b of each column
    words = stream.reshape(rows * bits // 32, 32, cols)
    return as_i32((words << np.arange(32, dtype=np.uint64)[None, :, None]).sum(axis=1))


def pack_along_rows(u, bits):
    """GPTQ qzeros / compressed-tensors rows: value n at bit n*bits of the row's words."""
    return np.ascontiguousarray(pack_down_columns(np.ascontiguousarray(u.T), bits).T)


AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7]


def pack_awq(u, order):
    """AutoAWQ from_linear: word j |= u[:, 8j + order[i]] << 4i."""
    rows, cols = u.shape
    out = np.zeros((rows, cols // 8), np.uint64)
    for j in range(cols // 8):
        for i in range(8):
            out[:, j] |= u[:, 8 * j + order[i]].astype(np.uint64) << np.uint64(4 * i)
    return as_i32(out)


def pack_awq_gemv_zeros(z, width):
    out = np.zeros((z.shape[0], width), np.uint64)
    for j in range(z.shape[1]):
        out[:, j // 8] |= z[:, j].astype(np.uint64) << np.uint64(4 * (j % 8))
    return as_i32(out)


# --- Quantizers ----------------------------------------------------------------------------------
def gptq_params(x, bits, sym):
    """GPTQModel Quantizer.find_params over the last axis of x [..., n]."""
    maxq = 2 ** bits - 1
    xmin, xmax = np.minimum(x.min(-1), 0), np.maximum(x.max(-1), 0)
    if sym:
        xmax = np.maximum(np.abs(xmin), xmax)
        xmin = np.where(xmin < 0, -xmax, xmin)
    both_zero = (xmin == 0) & (xmax == 0)
    xmin, xmax = np.where(both_zero, -1, xmin), np.where(both_zero, 1, xmax)
    scale = ((xmax - xmin) / maxq).astype(np.float16).astype(np.float32)
    zero = np.full(scale.shape, (maxq + 1) // 2) if sym else np.round(-xmin / scale)
    return scale, np.clip(zero, 0, maxq).astype(np.int64)


def q_gptq(bits, group, sym, v1, desc_act=False, scale_dtype=np.float16):
    def quantize(name, w, t):
        wt = w.astype(np.float32).T  # [in, out], as GPTQ stores it
        inn, out = wt.shape
        g = group if group > 0 else inn
        perm = rng.permutation(inn) if desc_act else np.arange(inn)
        g_idx = np.empty(inn, np.int32)
        g_idx[perm] = np.arange(inn) // g  # groups over the activation order
        groups = -(-inn // g)
        scales = np.zeros((groups, out), np.float32)
        zeros = np.zeros((groups, out), np.int64)
        for k in range(groups):
            scales[k], zeros[k] = gptq_params(wt[g_idx == k].T, bits, sym)
        if scale_dtype is not np.float16:  # GPTQModel with a bfloat16 model stores BF16 scales
            scales = scales.astype(scale_dtype).astype(np.float32)
        q = np.clip(np.round(wt / scales[g_idx]) + zeros[g_idx], 0, 2 ** bits - 1).astype(np.uint64)
        t[name + ".qweight"] = pack_down_columns(q, bits)
        stored = (zeros - 1) & (2 ** bits - 1) if v1 else zeros  # AutoGPTQ: zeros -= 1
        t[name + ".qzeros"] = pack_along_rows(stored.astype(np.uint64), bits)
        t[name + ".scales"] = scales.astype(scale_dtype)
        t[name + ".g_idx"] = g_idx
    return quantize


def awq_params(x):
    """AutoAWQ pseudo_quantize_tensor, zero_point=True, 4 bits, over the last axis."""
    max_val, min_val = x.max(-1), x.min(-1)
    scales = (np.maximum(max_val - min_val, 1e-5) / 15).astype(np.float16).astype(np.float32)
    zeros = np.clip(-np.round(min_val / scales), 0, 15).astype(np.int64)
    return scales, zeros


def q_awq(group, gemv=False):
    def quantize(name, w, t):
        w = w.astype(np.float32)  # [out, in]
        out, inn = w.shape
        scales, zeros = awq_params(w.reshape(out, inn // group, group))  # [out, groups]
        q = np.clip(np.round(w / np.repeat(scales, group, 1)) + np.repeat(zeros, group, 1), 0, 15)
        q = q.astype(np.uint64)
        if gemv:
            width = -(-(-(-(inn // group) // 8)) // {32: 4, 64: 2}.get(group, 1)) * {32: 4, 64: 2}.get(group, 1)
            padded = np.zeros((out, width * 8), np.float16)
            padded[:, :inn // group] = scales
            t[name + ".qweight"] = pack_awq(q, list(range(8)))
            t[name + ".qzeros"] = pack_awq_gemv_zeros(zeros, width)
            t[name + ".scales"] = padded
        else:
            t[name + ".qweight"] = pack_awq(np.ascontiguousarray(q.T), AWQ_ORDER)
            t[name + ".qzeros"] = pack_awq(np.ascontiguousarray(zeros.T), AWQ_ORDER)
            t[name + ".scales"] = np.ascontiguousarray(scales.T).astype(np.float16)
    return quantize


def q_ct_actorder(bits, group):
    """compressed-tensors pack-quantized, symmetric groups over a permuted column order, with
    weight_g_idx (llm-compressor GPTQ actorder "group")."""
    def quantize(name, w, t):
        w = w.astype(np.float32)
        out, inn = w.shape
        perm = rng.permutation(inn)
        g_idx = np.empty(inn, np.int32)
        g_idx[perm] = np.arange(inn) // group
        qmax = 2 ** (bits - 1) - 1
        scales = np.zeros((out, inn // group), np.float32)
        for k in range(inn // group):
            scales[:, k] = np.abs(w[:, g_idx == k]).max(1) / (qmax + 0.5)
        scales = scales.astype(BF16)
        s = scales.astype(np.float32)[:, g_idx]
        q = np.clip(np.round(w / s), -qmax - 1, qmax).astype(np.int64)
        t[name + ".weight_packed"] = pack_along_rows((q + qmax + 1).astype(np.uint64), bits)
        t[name + ".weight_shape"] = np.array(w.shape, np.int64)
        t[name + ".weight_scale"] = scales
        t[name + ".weight_g_idx"] = g_idx
    return quantize


# --- The independent dequantizers ----------------------------------------------------------------
GPTQ_WF3 = np.array([[0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 0],
                     [0, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31],
                     [0, 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 0]], np.int64)


def gptq_unpack_weight(qweight, bits):
    """GPTQModel dequantize_weight: [in*bits/32, out] words -> [in, out] values."""
    qw = qweight.view(np.uint32).astype(np.int64)
    if bits in (2, 4, 8):
        wf = np.arange(0, 32, bits)
        w = (qw[:, None, :] >> wf[None, :, None]) & (2 ** bits - 1)
        return w.reshape(-1, qw.shape[1])
    w = np.broadcast_to(qw.reshape(qw.shape[0] // 3, 3, 1, qw.shape[1]), (qw.shape[0] // 3, 3, 12, qw.shape[1]))
    w = (w >> GPTQ_WF3[None, :, :, None]).copy()
    w[:, 0, 10] = (w[:, 0, 10] & 0x3) | ((w[:, 1, 0] << 2) & 0x4)
    w[:, 1, 11] = (w[:, 1, 11] & 0x1) | ((w[:, 2, 0] << 1) & 0x6)
    w &= 0x7
    w = np.concatenate([w[:, 0, :11], w[:, 1, 1:12], w[:, 2, 1:11]], axis=1)
    return w.reshape(-1, qw.shape[1])


def gptq_unpack_zeros(qzeros, bits, out):
    qz = qzeros.view(np.uint32).astype(np.int64)
    if bits in (2, 4, 8):
        wf = np.arange(0, 32, bits)
        z = (qz[:, :, None] >> wf[None, None, :]) & (2 ** bits - 1)
        return z.reshape(qz.shape[0], -1)[:, :out]
    z = np.broadcast_to(qz.reshape(qz.shape[0], qz.shape[1] // 3, 3, 1), (qz.shape[0], qz.shape[1] // 3, 3, 12))
    z = (z >> GPTQ_WF3[None, None, :, :]).copy()
    z[:, :, 0, 10] = (z[:, :, 0, 10] & 0x3) | ((z[:, :, 1, 0] << 2) & 0x4)
    z[:, :, 1, 11] = (z[:, :, 1, 11] & 0x1) | ((z[:, :, 2, 0] << 1) & 0x6)
    z &= 0x7
    z = np.concatenate([z[:, :, 0, :11], z[:, :, 1, 1:12], z[:, :, 2, 1:11]], axis=2)
    return z.reshape(qz.shape[0], -1)[:, :out]


def dequant_gptq(t, name, bits, v1):
    scales = t[name + ".scales"].astype(np.float32)
    out = scales.shape[1]
    w = gptq_unpack_weight(t[name + ".qweight"], bits)
    z = gptq_unpack_zeros(t[name + ".qzeros"], bits, out) + (1 if v1 else 0)  # v1 -> v2: + 1
    g = t[name + ".g_idx"].astype(np.int64)
    return (scales[g] * (w - z[g]).astype(np.float32)).T  # [out, in]


AWQ_REVERSE_ORDER = [0, 4, 1, 5, 2, 6, 3, 7]


def unpack_awq(words, reverse):
    """AutoAWQ unpack_awq + reverse_awq_order: shifts 0, 4, ... 28, then columns reordered."""
    u = (words.view(np.uint32).astype(np.int64)[:, :, None] >> np.arange(0, 32, 4)) & 0xF
    u = u.reshape(words.shape[0], -1)
    if reverse:
        order = np.arange(u.shape[1]).reshape(-1, 8)[:, AWQ_REVERSE_ORDER].reshape(-1)
        u = u[:, order]
    return u


def dequant_awq(t, name, group, gemv):
    s = t[name + ".scales"].astype(np.float32)
    w = unpack_awq(t[name + ".qweight"], not gemv)
    z = unpack_awq(t[name + ".qzeros"], not gemv)
    if gemv:  # [out, in]; scales/zeros [out, padded groups]
        groups = w.shape[1] // group
        return (w - np.repeat(z[:, :groups], group, 1)).astype(np.float32) * np.repeat(s[:, :groups], group, 1)
    return ((w - np.repeat(z, group, 0)).astype(np.float32) * np.repeat(s, group, 0)).T  # dequantize_gemm


def dequant_ct_actorder(t, name, bits):
    rows, cols = t[name + ".weight_shape"]
    words = t[name + ".weight_packed"].view(np.uint32)
    stream = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")[:, :cols * bits]
    u = (stream.reshape(rows, cols, bits).astype(np.int64) << np.arange(bits)).sum(2)
    q = (u - 2 ** (bits - 1)).astype(np.float32)
    g = t[name + ".weight_g_idx"].astype(np.int64)
    return q * t[name + ".weight_scale"].astype(np.float32)[:, g]


# --- Variants: quantizer, config, dequantizer ----------------------------------------------------
def gptq_config(bits, group, sym, fmt, desc_act=False):
    return {"quant_method": "gptq", "bits": bits, "group_size": group, "sym": sym, "desc_act": desc_act,
            "checkpoint_format": fmt, "damp_percent": 0.01, "true_sequential": True,
            "static_groups": False, "pack_dtype": "int32"}


def ct_config(bits, group):
    return {"quant_method": "compressed-tensors", "format": "pack-quantized",
            "quantization_status": "compressed",
            "config_groups": {"group_0": {"targets": ["Linear"], "weights": {
                "num_bits": bits, "type": "int", "strategy": "group", "group_size": group,
                "symmetric": True, "dynamic": False, "actorder": "group"}}}, "ignore": ["lm_head"]}


VARIANTS = {
    # name: (quantizer, quantization_config, standalone quantize_config.json, dequantizer)
    "gptq-int4-sym-v1": (q_gptq(4, 32, True, True), gptq_config(4, 32, True, "gptq"), None,
                         lambda t, n: dequant_gptq(t, n, 4, True)),
    "gptq-int4-asym-v2-bf16": (q_gptq(4, 32, False, False, scale_dtype=BF16), gptq_config(4, 32, False, "gptq_v2"),
                               None, lambda t, n: dequant_gptq(t, n, 4, False)),
    "gptq-int3-desc-act": (q_gptq(3, 32, True, True, desc_act=True), gptq_config(3, 32, True, "gptq", True),
                           None, lambda t, n: dequant_gptq(t, n, 3, True)),
    "gptq-int2-group-all": (q_gptq(2, -1, True, True), gptq_config(2, -1, True, "gptq"), None,
                            lambda t, n: dequant_gptq(t, n, 2, True)),
    "gptq-int8-v2": (q_gptq(8, 64, True, False), gptq_config(8, 64, True, "gptq_v2"), None,
                     lambda t, n: dequant_gptq(t, n, 8, False)),
    # AutoGPTQ's layout declared only by quantize_config.json (no quantization_config).
    "gptq-quantize-config": (q_gptq(4, 64, True, True), None,
                             {"bits": 4, "group_size": 64, "desc_act": False, "sym": True,
                              "damp_percent": 0.01, "true_sequential": True, "static_groups": False,
                              "model_name_or_path": None, "model_file_base_name": "model",
                              "quant_method": "gptq", "checkpoint_format": "gptq"},
                             lambda t, n: dequant_gptq(t, n, 4, True)),
    "awq-gemm": (q_awq(32), {"quant_method": "awq", "bits": 4, "group_size": 32, "zero_point": True,
                             "version": "gemm", "modules_to_not_convert": None}, None,
                 lambda t, n: dequant_awq(t, n, 32, False)),
    "awq-gemv": (q_awq(32, gemv=True), {"quant_method": "awq", "bits": 4, "group_size": 32,
                                        "zero_point": True, "version": "gemv"}, None,
                 lambda t, n: dequant_awq(t, n, 32, True)),
    "ct-int4-actorder": (q_ct_actorder(4, 32), ct_config(4, 32), None,
                         lambda t, n: dequant_ct_actorder(t, n, 4)),
}
# Copies of a variant's tensors under another declaration: auto-round's exports in the GPTQ
# (AutoGPTQ's v1 layout) and AWQ packings (auto_round/export: packing_format auto_round:auto_gptq /
# auto_awq), and the defect the limits exist for: v1 zeros (zero - 1) declared as gptq_v2, read
# one step off.
REUSED = {
    "auto-round-gptq": ("gptq-int4-sym-v1", {"quant_method": "auto-round", "packing_format": "auto_round:auto_gptq",
                                             "bits": 4, "group_size": 32, "sym": True, "data_type": "int"},
                        lambda t, n: dequant_gptq(t, n, 4, True)),
    "auto-round-awq": ("awq-gemm", {"quant_method": "auto-round", "packing_format": "auto_round:auto_awq",
                                    "bits": 4, "group_size": 32, "sym": False, "data_type": "int"},
                       lambda t, n: dequant_awq(t, n, 32, False)),
    "gptq-int4-flipped-broken": ("gptq-int4-sym-v1", gptq_config(4, 32, True, "gptq_v2"),
                                 lambda t, n: dequant_gptq(t, n, 4, False)),
}


def unquantized():
    return {k: v for k, v in source.items() if not any(k == m + ".weight" for m in modules)}


def write(dirname, tensors, quantization_config, quantize_config):
    d = os.path.join(OUT, dirname)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}  # save_file writes raw buffers
    save_file(tensors, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    config = dict(CONFIG)
    if quantization_config:
        config["quantization_config"] = quantization_config
    json.dump(config, open(os.path.join(d, "config.json"), "w"), indent=1)
    if quantize_config:
        json.dump(quantize_config, open(os.path.join(d, "quantize_config.json"), "w"), indent=1)


def errors_of(tensors, dequant):
    errors = {}
    for name, w in modules.items():
        w_hat = dequant(tensors, name).astype(np.float64)
        ref = w.astype(np.float32).astype(np.float64)
        diff = w_hat - ref
        errors[name] = {"rel_error": float(np.sqrt((diff ** 2).sum()) / np.sqrt((ref ** 2).sum())),
                        "max_abs_error": float(np.abs(diff).max())}
    return errors


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    write("source", source, None, None)
    expected, quantized = {}, {}
    for variant, (quantize, qc, standalone, dequant) in VARIANTS.items():
        tensors = unquantized()
        for name, w in modules.items():
            quantize(name, w, tensors)
        quantized[variant] = tensors
        write(variant, tensors, qc, standalone)
        expected[variant] = {"source": "source", "modules": errors_of(tensors, dequant)}
    for variant, (base, qc, dequant) in REUSED.items():
        write(variant, quantized[base], qc, None)
        expected[variant] = {"source": "source", "modules": errors_of(quantized[base], dequant)}
    json.dump(expected, open(os.path.join(OUT, "expected.json"), "w"), indent=1, sort_keys=True)
    for variant, entry in expected.items():
        rel = [e["rel_error"] for e in entry["modules"].values()]
        print(f"{variant}: relative error {min(rel):.4f} .. {max(rel):.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()

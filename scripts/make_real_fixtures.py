#!/usr/bin/env python3
"""Writes fixtures/producers/: checkpoints written by the real producers (llmcompressor /
compressed-tensors and NVIDIA modelopt), run on the CPU over tiny random-weight models, with the
BF16 sources they were made from and expected.json: each quantized module's relative and maximum
absolute error, computed in float32 by the producer's own dequantizer (compressed-tensors'
compressor `decompress`, modelopt's `QTensor.dequantize`) against the BF16 source.

Nothing is downloaded: each model is built by transformers from a config object with a fixed
seed and saved as the BF16 source (shards of 200 KB, so modules straddle files); the producers
load it from there, as they would a hub checkpoint. Calibration data is random token ids.

Regenerate (about two minutes on 2 cores; the venv is large, see the script):
    scripts/setup-producers-venv.sh
    /work/venv-producers/bin/python scripts/make_real_fixtures.py

Versions are pinned in scripts/requirements-producers.txt and recorded in expected.json.
Both producers quantize on the CPU here (no CUDA is needed for any scheme below); a scheme a
producer cannot export is left out and said so in fixtures/producers/README.md, never written
by hand.
"""
import glob
import json
import os
import shutil
import sys

os.environ["HF_HUB_OFFLINE"] = "1"  # every model is local; a hub lookup is a bug here
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "producers")
SHARD = "200KB"
SEED = 20261129
# Weights drawn with std 0.05 rather than transformers' 0.02: a random (untrained) model's
# activations are far smaller than a trained one's, and with 0.02 the calibrated NVFP4
# input_global_scale of a down_proj (2688 / amax) exceeds 1e4, the bound past which
# scale-out-of-range calls a module uncalibrated. Relative errors do not depend on the scale.
INIT_RANGE = 0.05


def importlib_version(name):
    from importlib.metadata import version
    return version(name)


# --- The BF16 sources ------------------------------------------------------------------------------

def llama_model():
    from transformers import AutoModelForCausalLM, LlamaConfig
    cfg = LlamaConfig(hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=32, vocab_size=256,
                      max_position_embeddings=256, tie_word_embeddings=False,
                      initializer_range=INIT_RANGE)
    torch.manual_seed(SEED)
    return AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)


def qwen3_vl_moe_model():
    # Fused experts: transformers writes mlp.experts.gate_up_proj [E, 2I, H] and down_proj
    # [E, H, I] for a model built from its config. moe_intermediate_size 32 keeps 2I != H.
    from transformers import Qwen3VLMoeConfig, Qwen3VLMoeForConditionalGeneration
    cfg = Qwen3VLMoeConfig(
        text_config=dict(hidden_size=128, intermediate_size=256, moe_intermediate_size=32,
                         num_experts=4, num_experts_per_tok=2, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=32,
                         vocab_size=256, max_position_embeddings=256, decoder_sparse_step=1,
                         mlp_only_layers=[],
                         rope_scaling={"rope_type": "default", "mrope_section": [4, 6, 6]}),
        vision_config=dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2,
                           out_hidden_size=128, patch_size=16, spatial_merge_size=2,
                           temporal_patch_size=2, deepstack_visual_indexes=[0],
                           num_position_embeddings=16),
        tie_word_embeddings=False, initializer_range=INIT_RANGE)
    cfg.text_config.initializer_range = INIT_RANGE
    torch.manual_seed(SEED + 1)
    return Qwen3VLMoeForConditionalGeneration._from_config(cfg, dtype=torch.bfloat16)


SOURCES = {"source-llama": llama_model, "source-qwen3-vl-moe": qwen3_vl_moe_model}


def model_class(source):
    from transformers import AutoModelForCausalLM, Qwen3VLMoeForConditionalGeneration
    return Qwen3VLMoeForConditionalGeneration if "vl-moe" in source else AutoModelForCausalLM


def load_source(source):
    return model_class(source).from_pretrained(os.path.join(OUT, source), dtype=torch.bfloat16)


def tiny_tokenizer():
    """A 256-token word-level tokenizer made in memory: llmcompressor wants a processor whenever
    a dataset is given, and none may be downloaded. The dataset is already token ids."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast
    vocab = {f"t{i}": i for i in range(256)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="t0"))
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="t0", pad_token="t0")


def calibration_batches():
    g = torch.Generator().manual_seed(SEED + 2)
    return [torch.randint(0, 256, (1, 32), generator=g) for _ in range(8)]


# --- llmcompressor / compressed-tensors --------------------------------------------------------------

CT_IGNORE = ["re:.*lm_head", "re:.*visual.*", "re:.*mlp.gate$"]


def run_llmcompressor(variant, source, scheme, calibrate, linearize=False, repack=False):
    from datasets import Dataset
    from llmcompressor import oneshot
    from llmcompressor.modifiers.quantization import QuantizationModifier
    model = load_source(source)
    if linearize:
        # Fused experts become one Linear per expert for calibration (llmcompressor's MoE path);
        # saved that way, each expert is a compressed module of its own.
        from llmcompressor.modeling.moe.linearize import linearize_moe
        linearize_moe(model)
    kwargs = {}
    if calibrate:
        batches = calibration_batches()
        kwargs = dict(dataset=Dataset.from_dict({
            "input_ids": [b[0].tolist() for b in batches],
            "attention_mask": [[1] * b.shape[1] for b in batches]}),
            num_calibration_samples=len(batches), max_seq_length=32, processor=tiny_tokenizer())
    recipe = QuantizationModifier(targets="Linear", scheme=scheme, ignore=CT_IGNORE)
    oneshot(model=model, recipe=recipe, **kwargs)
    if repack:
        # llmcompressor's documented step for architectures with fused experts (repack_moe,
        # "call this after calibration/quantization and before save_pretrained"). It writes
        # the fused weights in BF16 with {gate_up,down}_proj_{scale,zero_point} sidecars: the
        # compressor only compresses Linear modules. Kept as a defect fixture (no figures).
        from llmcompressor.modeling.moe.linearize import repack_moe
        repack_moe(model)
    out = os.path.join(OUT, variant)
    model.save_pretrained(out, max_shard_size=SHARD)
    return out


def ct_decompressor_f32():
    """compressed-tensors' own decompress, run in float32. Its FP4 unpacker defaults to bfloat16
    (compressors/nvfp4/helpers.py: unpack_fp4_from_uint8(..., dtype=torch.bfloat16)) and the
    NVFP4/MXFP4 decompress dequantizes in the unpacked dtype, so that default is switched to
    float32; every other format dequantizes in the scale's dtype, and scales are handed over in
    float32. The arithmetic is the producer's own either way."""
    import compressed_tensors.compressors.nvfp4.base as nvfp4_base
    unpack = nvfp4_base.unpack_fp4_from_uint8
    nvfp4_base.unpack_fp4_from_uint8 = lambda a, m, n, dtype=torch.float32: unpack(a, m, n, dtype)
    from compressed_tensors.compressors.base import BaseCompressor
    return BaseCompressor


def ct_errors(variant_dir, source_dir):
    from compressed_tensors.quantization import QuantizationConfig, QuantizationScheme
    BaseCompressor = ct_decompressor_f32()
    cfg = json.load(open(os.path.join(variant_dir, "config.json")))["quantization_config"]
    qc = QuantizationConfig.model_validate(cfg)
    assert len(qc.config_groups) == 1, "one scheme per fixture"
    (scheme,) = qc.config_groups.values()
    scheme = QuantizationScheme.model_validate(scheme)
    fmt = scheme.format or qc.format
    compressor = BaseCompressor.get_value_from_registry(fmt)
    tensors = load_dir(variant_dir)
    modules = sorted({k.rsplit(".", 1)[0] for k in tensors if k.endswith(".weight_scale")})
    out = {}
    for module in modules:
        local = {k[len(module) + 1:]: v for k, v in tensors.items()
                 if k.startswith(module + ".") and "." not in k[len(module) + 1:]}
        for name in ("weight_scale", "weight_global_scale"):
            if name in local and local[name].is_floating_point():
                local[name] = local[name].to(torch.float32)
        decoded = compressor.decompress(local, scheme)["weight"]
        assert decoded.dtype == torch.float32, (module, decoded.dtype)
        out[module] = decoded
    return out


# --- NVIDIA modelopt ---------------------------------------------------------------------------------

def run_modelopt(variant, source, config_name):
    import modelopt.torch.quantization as mtq
    from modelopt.torch.export import export_hf_checkpoint
    model = load_source(source)
    batches = calibration_batches()

    def forward_loop(m):
        for b in batches:
            m(input_ids=b)

    mtq.quantize(model, getattr(mtq, config_name), forward_loop)
    out = os.path.join(OUT, variant)
    export_hf_checkpoint(model, export_dir=out, max_shard_size=SHARD)
    return out


def mo_errors(variant_dir, source_dir):
    """modelopt's own dequantizers (modelopt/torch/quantization/qtensor/*.py), in float32."""
    from modelopt.torch.quantization.qtensor import FP8QTensor, MXFP4QTensor, NVFP4QTensor
    algo = json.load(open(os.path.join(variant_dir, "hf_quant_config.json")))["quantization"]
    quant_algo, group = algo["quant_algo"].upper(), algo.get("group_size")
    tensors = load_dir(variant_dir)
    source = load_dir(source_dir)
    modules = sorted({k.rsplit(".", 1)[0] for k in tensors if k.endswith(".weight_scale")})
    out = {}
    for module in modules:
        w, s = tensors[module + ".weight"], tensors[module + ".weight_scale"]
        shape = source_weight(source, module).shape
        if quant_algo == "NVFP4":
            q = NVFP4QTensor(shape, torch.float32, w)
            decoded = q.dequantize(dtype=torch.float32, scale=s,
                                   double_scale=tensors[module + ".weight_scale_2"].float(),
                                   block_sizes={-1: group})
        elif quant_algo == "MXFP4":
            decoded = MXFP4QTensor(shape, torch.float32, w).dequantize(
                dtype=torch.float32, scale=s, block_sizes={-1: 32})
        elif quant_algo == "FP8_PB_WO":
            # Exported as [out/128, 1, in/128, 1], or 0-d when one 128x128 block covers the
            # weight; FP8QTensor expands a [out/128, in/128] grid by block_sizes.
            q = FP8QTensor(shape, torch.float32, w)
            if s.ndim == 0:
                decoded = q.dequantize(dtype=torch.float32, scale=s.float())
            else:
                decoded = q.dequantize(dtype=torch.float32,
                                       scale=s.float().reshape(s.shape[0], s.shape[2]),
                                       block_sizes={-1: 128, -2: 128})
        elif quant_algo in ("FP8", "FP8_PER_CHANNEL_PER_TOKEN"):
            scale = s.float()
            if scale.ndim == 1:
                scale = scale.unsqueeze(-1)  # per output channel
            decoded = FP8QTensor(shape, torch.float32, w).dequantize(dtype=torch.float32,
                                                                      scale=scale)
        else:
            raise SystemExit(f"{variant_dir}: no dequantizer wired for {quant_algo}")
        assert decoded.dtype == torch.float32 and tuple(decoded.shape) == tuple(shape), module
        out[module] = decoded
    return out


# --- Errors against the source ---------------------------------------------------------------------

def load_dir(path):
    tensors = {}
    for f in sorted(glob.glob(os.path.join(path, "*.safetensors"))):
        tensors.update(load_file(f))
    return tensors


def source_weight(source, module):
    """The BF16 weight a quantized module was made from: its own tensor, or its slice of a
    fused experts tensor ([E, 2I, H] gate rows then up rows; down_proj [E, H, I])."""
    if module + ".weight" in source:
        return source[module + ".weight"]
    head, expert, proj = module.rsplit(".", 2)
    fused = source[f"{head}.{'down_proj' if proj == 'down_proj' else 'gate_up_proj'}"]
    slab = fused[int(expert)]
    if proj == "down_proj":
        return slab
    inter = slab.shape[0] // 2
    return slab[:inter] if proj == "gate_proj" else slab[inter:]


def errors_f32(decoded, source_dir):
    """Relative L2 error and largest absolute error, in float32 as the producers compute, and
    the relative error of the same decoded float32 values accumulated in float64."""
    source = load_dir(source_dir)
    figures = {}
    for module, d in sorted(decoded.items()):
        ref = source_weight(source, module).to(torch.float32)
        diff = d - ref
        # The same decoded values with the norms taken in float64: what compare accumulates.
        diff64 = d.double() - ref.double()
        figures[module] = {
            "rel_error": float(torch.linalg.vector_norm(diff) / torch.linalg.vector_norm(ref)),
            "rel_error_f64": float(torch.linalg.vector_norm(diff64) /
                                   torch.linalg.vector_norm(ref.double())),
            "max_abs_error": float(diff.abs().max()),
            "elements": ref.numel(),
        }
    return figures


# --- The set -------------------------------------------------------------------------------------

# (variant, producer, source, how)
LLMCOMPRESSOR = [
    ("ct-fp8-dynamic", "source-llama", dict(scheme="FP8_DYNAMIC", calibrate=False)),
    ("ct-fp8-static", "source-llama", dict(scheme="FP8", calibrate=True)),
    ("ct-fp8-block", "source-llama", dict(scheme="FP8_BLOCK", calibrate=False)),
    ("ct-nvfp4", "source-llama", dict(scheme="NVFP4", calibrate=True)),
    ("ct-mxfp4", "source-llama", dict(scheme="MXFP4A16", calibrate=False)),
    ("ct-w4a16", "source-llama", dict(scheme="W4A16", calibrate=False)),
    ("ct-w8a8", "source-llama", dict(scheme="W8A8", calibrate=False)),
    ("ct-vl-moe-fp8-dynamic", "source-qwen3-vl-moe",
     dict(scheme="FP8_DYNAMIC", calibrate=False, linearize=True)),
    ("ct-vl-moe-fp8-repacked", "source-qwen3-vl-moe",
     dict(scheme="FP8_DYNAMIC", calibrate=False, linearize=True, repack=True)),
]
MODELOPT = [
    ("mo-fp8", "source-llama", "FP8_DEFAULT_CFG"),
    ("mo-fp8-block", "source-llama", "FP8_2D_BLOCKWISE_WEIGHT_ONLY_CFG"),
    ("mo-nvfp4", "source-llama", "NVFP4_DEFAULT_CFG"),
    ("mo-mxfp4", "source-llama", "MXFP4_DEFAULT_CFG"),
    ("mo-vl-moe-nvfp4", "source-qwen3-vl-moe", "NVFP4_DEFAULT_CFG"),
]


def main():
    only = set(sys.argv[1:])
    os.makedirs(OUT, exist_ok=True)
    for name, build in SOURCES.items():
        shutil.rmtree(os.path.join(OUT, name), ignore_errors=True)
        build().save_pretrained(os.path.join(OUT, name), max_shard_size=SHARD)
    expected_path = os.path.join(OUT, "expected.json")
    expected = (json.load(open(expected_path))["variants"]
                if only and os.path.exists(expected_path) else {})
    ct_version = (f"llmcompressor {importlib_version('llmcompressor')}, compressed-tensors "
                  f"{importlib_version('compressed-tensors')}")
    mo_version = f"nvidia-modelopt {importlib_version('nvidia-modelopt')}"
    for variant, source, how in LLMCOMPRESSOR:
        if only and variant not in only:
            continue
        shutil.rmtree(os.path.join(OUT, variant), ignore_errors=True)
        out = run_llmcompressor(variant, source, **how)
        if how.get("repack"):
            expected[variant] = {"producer": ct_version, "scheme": how["scheme"],
                                 "source": source, "defect": "fused experts left in BF16",
                                 "modules": {}}
            continue
        figures = errors_f32(ct_errors(out, os.path.join(OUT, source)), os.path.join(OUT, source))
        expected[variant] = {"producer": ct_version, "scheme": how["scheme"], "source": source,
                             "modules": figures}
    for variant, source, config_name in MODELOPT:
        if only and variant not in only:
            continue
        shutil.rmtree(os.path.join(OUT, variant), ignore_errors=True)
        out = run_modelopt(variant, source, config_name)
        figures = errors_f32(mo_errors(out, os.path.join(OUT, source)), os.path.join(OUT, source))
        expected[variant] = {"producer": mo_version, "scheme": config_name, "source": source,
                             "modules": figures}
    versions = {"torch": torch.__version__, "transformers": importlib_version("transformers")}
    with open(expected_path, "w") as f:
        json.dump({"versions": versions, "variants": expected}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the 2:4 sparse variants of fixtures/producers/ with compressed-tensors' own
Sparse24BitMaskCompressor (format "sparse-24-bitmask").

compressed-tensors removed its sparse compressors in 0.15 (commit 927f6d5f, "[Compressors]
Refactor compressors, remove sparsity & CompressedLinear", #610), so 0.14.0.1 is the last release
that writes the format; the producers venv pins 0.19. scripts/setup-sparse24-venv.sh makes a
venv with compressed-tensors 0.14.0.1 that borrows torch / transformers from the producers venv.

Nothing is downloaded. source-llama-24 is fixtures/producers/source-llama pruned 2:4 by
magnitude with the producer's own mask (sparse_24_bitmask.py get_24_bytemasks: the two largest
|w| of every 4 consecutive elements of a row), saved in BF16 like the other sources: the dense
model the sparse checkpoints are compressed from (what SparseGPT / a magnitude pruner hands to
the compressor). Variants:
  ct-sparse24       sparse-24-bitmask only: `compressed` BF16 [out, in/2], `bitmask` U8
                    [out, ceil(in/8)], `shape` I64 [2, 1]
  ct-sparse24-fp8   FP8_DYNAMIC (per-channel weight_scale) quantized first, then the FP8 codes
                    2:4 compressed (model_compressor.py compress_model: "quantization first",
                    "sparsity second")
expected.json gets each variant's per-module errors against source-llama-24, decoded by the
producer: Sparse24BitMaskCompressor.decompress_weight, then (FP8) the float-quantized
compressor's decompress_weight with the scale in float32.

    scripts/setup-sparse24-venv.sh
    /work/venv-sparse24/bin/python scripts/make_sparse24_fixtures.py
"""
import json
import os
import shutil
import sys

os.environ["HF_HUB_OFFLINE"] = "1"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_real_fixtures as real  # noqa: E402  (paths, shard size, loaders, error figures)
import torch  # noqa: E402

OUT = real.OUT
SOURCE = "source-llama-24"
IGNORE = ["lm_head"]


def prune_source():
    from compressed_tensors.compressors.sparse_compressors.sparse_24_bitmask import (
        get_24_bytemasks)
    model = real.load_source("source-llama")
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, torch.nn.Linear) and name not in IGNORE:
                module.weight.mul_(get_24_bytemasks(module.weight).to(module.weight.dtype))
    out = os.path.join(OUT, SOURCE)
    shutil.rmtree(out, ignore_errors=True)
    model.save_pretrained(out, max_shard_size=real.SHARD)


def sparsity_config(model):
    from compressed_tensors.config import Sparse24BitMaskConfig
    total = zeros = 0
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and name not in IGNORE:
            total += module.weight.numel()
            zeros += int((module.weight == 0).sum())
    return Sparse24BitMaskConfig(targets=["Linear"], ignore=IGNORE,
                                 global_sparsity=zeros / total, sparsity_structure="2:4")


def fp8_dynamic(model):
    """FP8_DYNAMIC as llmcompressor applies it: per-channel weight scales amax / 448 (the minmax
    observer's symmetric scale, calculate_qparams), dynamic per-token inputs (no input_scale)."""
    from compressed_tensors.quantization import (QuantizationConfig, QuantizationStatus,
                                                 apply_quantization_config, preset_name_to_scheme)
    scheme = preset_name_to_scheme("FP8_DYNAMIC", ["Linear"])
    config = QuantizationConfig(config_groups={"group_0": scheme}, ignore=IGNORE,
                                format="float-quantized",
                                quantization_status=QuantizationStatus.FROZEN)
    apply_quantization_config(model, config)
    with torch.no_grad():
        for name, module in model.named_modules():
            if hasattr(module, "weight_scale"):
                amax = module.weight.abs().amax(dim=1, keepdim=True).float()
                module.weight_scale.copy_((amax / 448.0).to(module.weight_scale.dtype))
    return config


def write_variant(variant, quantize):
    from compressed_tensors.compressors import ModelCompressor
    model = real.load_source(SOURCE)
    sparsity = sparsity_config(model)
    quant = fp8_dynamic(model) if quantize else None
    compressor = ModelCompressor(sparsity_config=sparsity, quantization_config=quant)
    compressor.compress_model(model)
    out = os.path.join(OUT, variant)
    shutil.rmtree(out, ignore_errors=True)
    model.save_pretrained(out, max_shard_size=real.SHARD)
    compressor.update_config(out)
    return out


def decode(variant_dir):
    from compressed_tensors.compressors import BaseCompressor
    from compressed_tensors.config import CompressionFormat
    from compressed_tensors.quantization import QuantizationArgs
    cfg = json.load(open(os.path.join(variant_dir, "config.json")))["quantization_config"]
    sparse = BaseCompressor.load_from_registry(
        cfg["sparsity_config"]["format"], config=sparsity_from(cfg["sparsity_config"]))
    quant = None
    if cfg.get("config_groups"):
        (group,) = cfg["config_groups"].values()
        args = QuantizationArgs.model_validate(group["weights"])
        quant = BaseCompressor.load_from_registry(CompressionFormat.float_quantized.value)
    tensors = real.load_dir(variant_dir)
    out = {}
    for key in sorted(k for k in tensors if k.endswith(".bitmask")):
        module = key[:-len(".bitmask")]
        dense = sparse.decompress_weight({p: tensors[f"{module}.{p}"]
                                          for p in ("shape", "compressed", "bitmask")})
        if quant is not None:
            dense = quant.decompress_weight(
                {"weight": dense, "weight_scale": tensors[module + ".weight_scale"].float()},
                quantization_args=args)
        decoded = dense.to(torch.float32)  # BF16 values: exact in float32
        assert quant is None or dense.dtype == torch.float32, (module, dense.dtype)
        out[module] = decoded
    return out


def sparsity_from(data):
    from compressed_tensors.config import SparsityCompressionConfig
    return SparsityCompressionConfig.load_from_registry(data["format"], **data)


VARIANTS = [("ct-sparse24", False), ("ct-sparse24-fp8", True)]


def main():
    import compressed_tensors
    prune_source()
    expected_path = os.path.join(OUT, "expected.json")
    data = json.load(open(expected_path))
    producer = f"compressed-tensors {compressed_tensors.__version__}"
    for variant, quantize in VARIANTS:
        out = write_variant(variant, quantize)
        figures = real.errors_f32(decode(out), os.path.join(OUT, SOURCE))
        data["variants"][variant] = {
            "producer": producer, "source": SOURCE, "modules": figures,
            "scheme": "sparse-24-bitmask" + (" + FP8_DYNAMIC" if quantize else "")}
    with open(expected_path, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()

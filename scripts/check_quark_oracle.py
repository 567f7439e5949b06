#!/usr/bin/env python3
"""Checks the numpy Quark compare fixtures (fixtures/compare/quark-*, written by
scripts/make_compare_oracle.py) against AMD Quark's own dequantization: each module's stored
tensors go through what Quark's importer does with a real_quantized export
(export/nn/modules/realquantizer.py StaticScaledRealQuantizer.forward: the packer's unpack, an
E8M0 scale turned into 2^(s - 127), then quark.torch.kernel.dequantize with the spec's dtype,
axis, group size and qscheme), and the relative error (float64 norms of the float32 values) and
the largest absolute error must equal fixtures/compare/expected.json to 1e-9. The fixtures keep
per-expert names of a model transformers does not build, so the kernels are called per module
rather than through import_model_from_safetensors (which fixtures/producers/quark-* use).

Run: "$(scripts/setup-oracles-venv.sh)" scripts/check_quark_oracle.py   (exit 1 on a mismatch)
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file

import quark.torch.kernel  # noqa: F401  (registers torch.ops.quark)
from quark.torch.utils.pack import create_pack_method

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_source import linear_modules  # noqa: E402
from oracle_agreement import Agreement  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
COMPARE = os.path.join(ROOT, "fixtures", "compare")


def source_weights():
    return linear_modules(load_file(os.path.join(COMPARE, "source", "model.safetensors")))


def weight_spec(variant):
    qc = json.load(open(os.path.join(COMPARE, variant, "config.json")))["quantization_config"]
    return qc["global_quant_config"]["weight"]


def decode(tensors, module, spec):
    w = tensors[module + ".weight"]
    scale = tensors.get(module + ".weight_scale")
    if scale is None:  # older exports: the quantizer module's name
        scale = tensors[module + ".weight_quantizer.scale"]
    if spec["dtype"] == "fp4":
        x = create_pack_method(qscheme=spec["qscheme"], dtype="fp4").unpack(w, True)
        scale = 2 ** (scale.view(torch.uint8).to(torch.int16) - 127).to(torch.float32)
    else:
        x = w
    axis = spec["ch_axis"] if spec["ch_axis"] is not None else -1
    group = spec["group_size"] if spec["group_size"] is not None else -1
    return torch.ops.quark.dequantize(spec["dtype"], x, scale, None, axis, group, spec["qscheme"])


def main():
    expected = json.load(open(os.path.join(COMPARE, "expected.json")))
    weights = source_weights()
    agreement = Agreement("Quark")
    for variant, entry in sorted(expected.items()):
        if not variant.startswith("quark-"):
            continue
        spec = weight_spec(variant)
        tensors = load_file(os.path.join(COMPARE, variant, "model.safetensors"))
        for module, want in sorted(entry["modules"].items()):
            d = decode(tensors, module, spec)
            assert d.dtype == torch.float32, (variant, module, d.dtype)
            agreement.check(variant, module, d, weights[module], want)
        print(f"{variant:26} {len(entry['modules'])} modules decoded by Quark's kernels "
              f"({spec['dtype']} {spec['qscheme']})")
    return agreement.finish()


if __name__ == "__main__":
    sys.exit(main())

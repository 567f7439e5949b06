#!/usr/bin/env python3
"""Checks the numpy GPTQ / AWQ oracle (fixtures/compare-gptq, scripts/make_gptq_awq_oracle.py)
against GPTQModel's own dequantizers: every module of every variant GPTQModel can decode is
decoded from the saved tensors by its TorchLinear dequantize_weight (after its v1 -> v2 zero
conversion where the checkpoint declares v1) or its AWQ dequantize_gemm, exactly as
scripts/make_oracle_producers.py does for the real producers' output, and the relative error
(float64 norms of the float32 values) and the largest absolute error must equal the numpy
oracle's expected.json to 1e-9. Not covered, said so in the output: AWQ GEMV (GPTQModel decodes
it only in a CUDA kernel) and compressed-tensors actorder (not a GPTQModel format; and
compressed-tensors 0.19 itself refuses its `actorder: "group"` config: "actorder='group' has been
removed", so its own decompress cannot check it either).

Run: "$(scripts/setup-oracles-venv.sh)" scripts/check_gptq_awq_oracle.py   (exit 1 on a mismatch)
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import make_oracle_producers as producers  # noqa: E402
import make_real_fixtures as real  # noqa: E402
from oracle_agreement import Agreement  # noqa: E402

DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "compare-gptq")


def declaration(variant):
    """The quantization_config GPTQModel would read, and the decoder it implies."""
    d = os.path.join(DIR, variant)
    config = json.load(open(os.path.join(d, "config.json")))
    qc = config.get("quantization_config")
    if qc is None and os.path.exists(os.path.join(d, "quantize_config.json")):
        qc = json.load(open(os.path.join(d, "quantize_config.json")))
    method, packing = qc.get("quant_method"), qc.get("packing_format", "")
    if method == "gptq" or packing.endswith("auto_gptq"):
        qc = {"desc_act": False, "checkpoint_format": "gptq", **qc}
        return qc, producers.gptq_decode
    if (method == "awq" and qc.get("version") == "gemm") or packing.endswith("auto_awq"):
        return qc, producers.awq_decode
    return qc, None


def main():
    expected = json.load(open(os.path.join(DIR, "expected.json")))
    source = real.load_dir(os.path.join(DIR, "source"))
    agreement = Agreement("GPTQModel")
    for variant, entry in sorted(expected.items()):
        qc, decode = declaration(variant)
        if decode is None:
            print(f"{variant:28} not decodable by GPTQModel on the CPU: skipped")
            continue
        tensors = real.load_dir(os.path.join(DIR, variant))
        for module, want in sorted(entry["modules"].items()):
            agreement.check(variant, module, decode(tensors, module, qc),
                            source[module + ".weight"], want)
        print(f"{variant:28} {len(entry['modules'])} modules decoded by GPTQModel "
              f"{producers.version('gptqmodel')}")
    return agreement.finish()


if __name__ == "__main__":
    sys.exit(main())

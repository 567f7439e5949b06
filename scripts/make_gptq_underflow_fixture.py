#!/usr/bin/env python3
"""fixtures/producer-defects/gptq-int4-asym-zero0: what GPTQModel really writes for an asymmetric
4-bit GPTQ (checkpoint_format "gptq", v1 zeros) when a group's zero point is 0.

The source is the committed BF16 source-llama with two groups of layer 0's q_proj made all
positive (input columns 0..31 of output rows 0 and 15): GPTQ's asymmetric range is
[min(w, 0), max(w, 0)], so their zero point is 0. GPTQModel stores v1 zeros by subtracting
0x11111111 from whole packed qzeros words (gptqmodel/utils/model.py
convert_gptq_v2_to_v1_format_module), so those nibbles underflow to 0xF and borrow from the next
nibble up (row 0: nibble 0 of word 0; row 15: the top nibble of word 1, which wraps the int32).
The scan rule gptq-v1-zero-underflow must name q_proj; the producer's healthy exports
(fixtures/producers/gptq-int4-asym*) must not fire.

Regenerate (under a minute on 2 cores):
    "$(scripts/setup-oracles-venv.sh)" scripts/make_gptq_underflow_fixture.py
"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import make_oracle_producers as producers  # noqa: E402  (sets the offline / worker env)
import make_real_fixtures as real  # noqa: E402

from safetensors.torch import load_file, save_file  # noqa: E402

VARIANT = "gptq-int4-asym-zero0"
MODULE = "model.layers.0.self_attn.q_proj.weight"
ROWS = (0, 15)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                   "producer-defects")


def positive_group_source(tmp):
    src = producers.source_with_tokenizer(tmp)
    index = json.load(open(os.path.join(src, "model.safetensors.index.json")))
    shard = os.path.join(src, index["weight_map"][MODULE])
    tensors = load_file(shard)
    w = tensors[MODULE].clone()
    for row in ROWS:
        w[row, 0:32] = w[row, 0:32].abs() + 0.01
    tensors[MODULE] = w
    save_file(tensors, shard, metadata={"format": "pt"})
    return src


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # GPTQModel writes logs/ into the working directory
        src = positive_group_source(tmp)
        producers.OUT = OUT
        shutil.rmtree(os.path.join(OUT, VARIANT), ignore_errors=True)
        producers.run_gptqmodel(VARIANT, src, bits=4, group_size=32, sym=False, desc_act=False)
    print("gptqmodel", real.importlib_version("gptqmodel"))


if __name__ == "__main__":
    main()

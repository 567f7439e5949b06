#!/usr/bin/env python3
"""Writes a one-shard checkpoint whose header holds N tensors (default 900,000: a ~92 MB
header), for measuring `fix` memory against header size. Each tensor is one U8 byte, so the
data is small and the header is the whole cost. Usage: make_big_header.py DIR [N]
"""
import json
import os
import struct
import sys


def main(directory, n):
    os.makedirs(directory, exist_ok=True)
    parts = ['{"__metadata__":{"format":"pt"}']
    for i in range(n):
        layer, expert = divmod(i, 3000)
        name = f"model.layers.{layer}.experts.{expert}.up_proj.weight"
        parts.append(f',"{name}":{{"dtype":"U8","shape":[1],"data_offsets":[{i},{i + 1}]}}')
    header = "".join(parts) + "}"
    header += " " * (-len(header) % 8)
    with open(os.path.join(directory, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header.encode())
        f.write(b"\x01" * n)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}, f)
    print(f"{n} tensors, header {len(header)} bytes")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 900_000)

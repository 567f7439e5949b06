#!/usr/bin/env python3
"""The baseline of bench/compare.sh: the same round-trip comparison as `ckptdoctor compare`,
written the way one would in numpy (ml_dtypes for the element types, safetensors to read), for
block FP8 and modelopt NVFP4 modules. Prints modules, source bytes and the worst relative error.
Usage: compare_numpy.py QUANT_DIR SOURCE_DIR"""
import json
import os
import sys

import ml_dtypes
import numpy as np
DTYPES = {"F32": np.float32, "BF16": ml_dtypes.bfloat16, "F8_E4M3": ml_dtypes.float8_e4m3fn,
          "U8": np.uint8}


class Tensor:
    """One tensor of a memory-mapped shard (safetensors' numpy backend has no FP8 dtype)."""

    def __init__(self, data, info):
        self.data, self.info = data, info

    def get_tensor(self, _name):
        begin, end = self.info["data_offsets"]
        return np.frombuffer(self.data[begin:end], DTYPES[self.info["dtype"]]).reshape(self.info["shape"])


def open_all(d):
    tensors = {}
    for f in sorted(os.listdir(d)):
        if not f.endswith(".safetensors"):
            continue
        raw = np.memmap(os.path.join(d, f), np.uint8, mode="r")
        n = int.from_bytes(raw[:8].tobytes(), "little")
        header = json.loads(raw[8:8 + n].tobytes())
        data = raw[8 + n:]
        tensors.update({k: Tensor(data, v) for k, v in header.items() if k != "__metadata__"})
    return tensors


def expand(s, br, bc, shape):
    return np.repeat(np.repeat(s, br, axis=0), bc, axis=1)[:shape[0], :shape[1]]


E2M1 = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6], np.float32)


def dequant(t, name, block):
    if name + ".weight_scale_inv" in t:  # block FP8
        q = t[name + ".weight"].get_tensor(name + ".weight").astype(np.float32)
        s = t[name + ".weight_scale_inv"].get_tensor(name + ".weight_scale_inv")
        return q * expand(s, block, block, q.shape)
    packed = t[name + ".weight"].get_tensor(name + ".weight")  # modelopt NVFP4
    q = np.empty((packed.shape[0], packed.shape[1] * 2), np.float32)
    q[:, 0::2], q[:, 1::2] = E2M1[packed & 0x0F], E2M1[packed >> 4]
    s = t[name + ".weight_scale"].get_tensor(name + ".weight_scale").astype(np.float32)
    s2 = t[name + ".weight_scale_2"].get_tensor(name + ".weight_scale_2")
    return q * expand((s * s2).astype(np.float32), 1, 16, q.shape)


def main():
    quant, source = open_all(sys.argv[1]), open_all(sys.argv[2])
    config = json.load(open(os.path.join(sys.argv[1], "config.json")))
    block = config.get("quantization_config", {}).get("weight_block_size", [128, 128])[0]
    worst, nbytes, count = 0.0, 0, 0
    for key in sorted(quant):
        if not (key.endswith(".weight") and key.replace(".weight", "") + ".weight_scale_inv" in quant
                or key.endswith(".weight") and key.replace(".weight", "") + ".weight_scale_2" in quant):
            continue
        name = key[: -len(".weight")]
        w = source[key].get_tensor(key).astype(np.float32).astype(np.float64)
        diff = dequant(quant, name, block).astype(np.float64) - w
        rel = np.sqrt((diff * diff).sum()) / np.sqrt((w * w).sum())
        worst, nbytes, count = max(worst, rel), nbytes + w.size * 2, count + 1
    print(f"{count} modules, {nbytes} source bytes, worst relative error {worst:.6f}")


if __name__ == "__main__":
    main()

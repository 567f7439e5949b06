"""Independent check of `ckptdoctor fix` output with the reference safetensors implementation.

Usage: fix_oracle.py IN OUT STRIP_PREFIX
Every shard of OUT must deserialize with the safetensors library (the reference Rust reader,
strict about offsets, padding and overlaps) and hold exactly the tensors of IN, renamed by
removing the first occurrence of STRIP_PREFIX, with identical dtype, shape and bytes; the
index must map each tensor to the shard holding it, with total_size the sum of their sizes;
every rewritten shard's __metadata__ carries "format": "pt".
"""
import json
import pathlib
import sys

from safetensors import deserialize, safe_open


def tensors(directory):
    out = {}
    for shard in sorted(pathlib.Path(directory).glob("*.safetensors")):
        for name, info in deserialize(shard.read_bytes()):
            assert name not in out, f"{name} in two shards"
            out[name] = (shard.name, info["dtype"], list(info["shape"]), bytes(info["data"]))
    return out


def main():
    src, dst, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
    before, after = tensors(src), tensors(dst)
    expected = {name.replace(prefix, "", 1): value for name, value in before.items()}
    assert set(after) == set(expected), sorted(set(after) ^ set(expected))[:5]
    for name, (shard, dtype, shape, data) in after.items():
        _, want_dtype, want_shape, want_data = expected[name]
        assert (dtype, shape) == (want_dtype, want_shape), name
        assert data == want_data, f"{name}: bytes differ"
    index_path = pathlib.Path(dst, "model.safetensors.index.json")
    if index_path.exists():
        index = json.loads(index_path.read_text())
        assert index["weight_map"] == {n: v[0] for n, v in after.items()}
        assert index["metadata"]["total_size"] == sum(len(v[3]) for v in after.values())
    for shard in pathlib.Path(dst).glob("*.safetensors"):
        with safe_open(str(shard), framework="numpy") as f:
            assert (f.metadata() or {}).get("format") == "pt", shard
    print(f"fix oracle: {len(after)} tensors match after stripping {prefix!r}")


if __name__ == "__main__":
    main()

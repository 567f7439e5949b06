#!/usr/bin/env python3
"""Writes fixtures/oracle/*.f32: the value of every code of every element encoding ckptdoctor
decodes, computed by ml_dtypes / numpy (an implementation independent of ours), as float32
little-endian. tests/test_float_decode.cpp compares our decoders against them bit for bit.

Usage: scripts/setup-venv.sh && .venv/bin/python scripts/make_oracle.py
"""
import pathlib

import ml_dtypes
import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "oracle"


def table(dtype, bits):
    """Every code of a `bits`-wide encoding, decoded by ml_dtypes/numpy to float32.

    ml_dtypes stores float4_e2m1fn one code per byte (low nibble), so it views uint8 too.
    """
    codes = np.arange(1 << bits, dtype=np.uint16 if bits == 16 else np.uint8)
    return codes.view(dtype).astype(np.float32)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    tables = {
        "f8_e4m3fn": (ml_dtypes.float8_e4m3fn, 8),
        "f8_e5m2": (ml_dtypes.float8_e5m2, 8),
        "f8_e4m3fnuz": (ml_dtypes.float8_e4m3fnuz, 8),
        "f8_e5m2fnuz": (ml_dtypes.float8_e5m2fnuz, 8),
        "f8_e8m0fnu": (ml_dtypes.float8_e8m0fnu, 8),
        "f4_e2m1fn": (ml_dtypes.float4_e2m1fn, 4),
        "bf16": (ml_dtypes.bfloat16, 16),
        "f16": (np.float16, 16),
    }
    for name, (dtype, bits) in tables.items():
        values = table(dtype, bits)
        assert values.size == 1 << bits, name
        (OUT / f"{name}.f32").write_bytes(values.astype("<f4").tobytes())
        print(f"{name}: {values.size} codes")
    (OUT / "VERSIONS").write_text(f"ml_dtypes {ml_dtypes.__version__}\nnumpy {np.__version__}\n")


if __name__ == "__main__":
    main()

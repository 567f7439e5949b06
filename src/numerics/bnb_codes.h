// The bitsandbytes 4-bit codes and the LLM.int8 scale constant, as float32: one definition for
// compare's decoder and scan's quant_map check.
#pragma once

#include <array>

namespace ckd {

// NF4: bitsandbytes functional.py get_4bit_type("nf4"), the values backends/utils.py
// _NF4_QUANT_TABLE and the CUDA kernels (csrc/kernels.cu dDequantizeNF4) use.
inline constexpr std::array<float, 16> kBnbNf4Code = {
    -1.0f,
    -0.6961928009986877f,
    -0.5250730514526367f,
    -0.39491748809814453f,
    -0.28444138169288635f,
    -0.18477343022823334f,
    -0.09105003625154495f,
    0.0f,
    0.07958029955625534f,
    0.16093020141124725f,
    0.24611230194568634f,
    0.33791524171829224f,
    0.44070982933044434f,
    0.5626170039176941f,
    0.7229568362236023f,
    1.0f,
};

// FP4 (E2M1 with bitsandbytes' own code order): get_4bit_type("fp4") divides
// [0, 0.0625, 8, 12, 4, 6, 2, 3, -0, -0.0625, -8, -12, -4, -6, -2, -3] by its absolute maximum
// 12 in float32; the CUDA kernels' dDequantizeFP4Tree returns the same values. (The CPU
// backend's _FP4_QUANT_TABLE rounds them to four decimals; the saved quant_map holds these.)
inline constexpr std::array<float, 16> kBnbFp4Code = {
    0.0f / 12.0f,  0.0625f / 12.0f, 8.0f / 12.0f,  12.0f / 12.0f,    4.0f / 12.0f,  6.0f / 12.0f,
    2.0f / 12.0f,  3.0f / 12.0f,    -0.0f / 12.0f, -0.0625f / 12.0f, -8.0f / 12.0f, -12.0f / 12.0f,
    -4.0f / 12.0f, -6.0f / 12.0f,   -2.0f / 12.0f, -3.0f / 12.0f,
};

// LLM.int8 dequantization: W = (q * SCB[row]) * this (bitsandbytes functional.py
// int8_vectorwise_dequant; 1/127 as the float32 torch makes of the Python literal).
inline constexpr float kBnbInt8Step = static_cast<float>(7.874015718698502e-3);

}  // namespace ckd

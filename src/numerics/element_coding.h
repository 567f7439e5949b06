// The element codings of the weight formats: how one stored code becomes a number before its
// scale applies. One definition for the CPU decoder (src/compare) and the CUDA kernels
// (kernels/): plain C++ with no includes, so nvcc compiles it too. The numeric values are the
// ABI between the two; kElementCodingCount and the static_asserts in formats.cpp hold them.
#pragma once

namespace ckd {

enum class ElementCoding : int {
  kF8E4M3 = 0,      // one byte per element
  kE2M1Packed = 1,  // two per byte, element 2k in the low nibble
  kInt8 = 2,        // I8, one per byte
  // `bits`-bit unsigned values u = q + 2^(bits-1) in a row's little-endian int32 words:
  kIntDense = 3,   // element i at bit i*bits of the row's word stream (compressed-tensors since
                   // 2026-05; may straddle two words)
  kIntLegacy = 4,  // 32/bits elements per word, the high bits unused (compressed-tensors before)
  // GPTQ: `bits`-bit unsigned values packed down the input dimension, qweight [in*bits/32, out];
  // 3-bit values straddle words (GPTQModel nn_modules/qlinear/__init__.py, pack_block).
  kGptqColumnPacked = 5,
  // AWQ GEMM: 4-bit values, eight per int32 along the output dimension in the order
  // 0, 2, 4, 6, 1, 3, 5, 7 (AutoAWQ awq/utils/packing_utils.py, AWQ_ORDER).
  kAwqInterleaved = 6,
  // AWQ GEMV: 4-bit values, eight per int32 along the input dimension, qweight [out, in/8].
  kAwqRowPacked = 7,
};

inline constexpr int kElementCodingCount = 8;

}  // namespace ckd

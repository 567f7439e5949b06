// The element codings of the weight formats: how one stored code becomes a number before its
// scale applies. One definition for the CPU decoder (src/compare) and the CUDA kernels
// (kernels/, whose cuda::Coding is this type): plain C++ with no includes, so nvcc compiles it
// too. The numeric values are the ABI between the two; formats.cpp's static_asserts hold them.
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
  // BF16/F32 weights stored uncompressed (compressed-tensors "dense"), fake-quantized from
  // their sidecars (compare/fake_quant.h).
  kDenseFloat = 5,
  // GPTQ: `bits`-bit unsigned values packed down the input dimension, qweight [in*bits/32, out];
  // 3-bit values straddle words (GPTQModel nn_modules/qlinear/__init__.py, pack_block).
  kGptqColumnPacked = 6,
  // AWQ GEMM: 4-bit values, eight per int32 along the output dimension in the order
  // 0, 2, 4, 6, 1, 3, 5, 7 (AutoAWQ awq/utils/packing_utils.py, AWQ_ORDER).
  kAwqInterleaved = 7,
  // AWQ GEMV: 4-bit values, eight per int32 along the input dimension, qweight [out, in/8].
  kAwqRowPacked = 8,
  // bitsandbytes 4-bit: two codes per byte over the flattened weight, element 2k in the HIGH
  // nibble (bitsandbytes backends/default/ops.py quantize_4bit: q[::2] << 4 | q[1::2]), looked up
  // in the NF4 or FP4 code and multiplied by the absmax of its flat block.
  kBnbNf4 = 9,
  kBnbFp4 = 10,
  // bitsandbytes LLM.int8: I8 codes, W = (q * SCB[row]) * (1/127) in float32 in that order
  // (bitsandbytes int8_vectorwise_dequant).
  kBnbInt8 = 11,
  // MLX affine: `bits`-bit unsigned values at bit i*bits of the row's little-endian uint32
  // stream (mlx/ops.cpp quantize; 3/5/6-bit values straddle words), W = q * scale + bias.
  kMlxAffine = 12,
  // compressed-tensors sparse-24-bitmask: each row stores its kept values in order ([out, in/2],
  // F8_E4M3 codes or 16/32-bit floats) and a bitmask U8 [out, ceil(in/8)], element c at bit
  // c % 8 of byte c / 8 (numpy packbits bitorder "little"); a set bit takes the row's next
  // value, a clear one is 0 (compressed-tensors 0.14.0.1 utils/helpers.py unpack_bitmasks,
  // sparse_24_bitmask.py sparse24_bitmask_decompress). FP8 values are then times the scale.
  kSparse24Bitmask = 13,
};

inline constexpr int kElementCodingCount = 14;

// The codings the CUDA kernels decode; compare runs every other one on the CPU.
constexpr bool cuda_decodes(ElementCoding c) {
  return c == ElementCoding::kF8E4M3 || c == ElementCoding::kE2M1Packed ||
         c == ElementCoding::kInt8 || c == ElementCoding::kIntDense ||
         c == ElementCoding::kIntLegacy;
}

// Why compare decodes a coding on the CPU even with a GPU (printed with the report); nullptr
// for the codings the kernels decode.
constexpr const char* cuda_fallback_reason(ElementCoding c) {
  switch (c) {
    case ElementCoding::kDenseFloat:
      return "fake quantization of stored floats runs on the CPU";
    case ElementCoding::kGptqColumnPacked:
    case ElementCoding::kAwqInterleaved:
    case ElementCoding::kAwqRowPacked:
      return "the kernels decode signed codes in row-major blocks; GPTQ / AWQ unsigned codes "
             "(column-packed or interleaved words, g_idx scale rows) run on the CPU";
    case ElementCoding::kBnbNf4:
    case ElementCoding::kBnbFp4:
      return "no CUDA kernel for bitsandbytes 4-bit codes (absmax blocks over the flattened "
             "weight)";
    case ElementCoding::kBnbInt8:
      return "no CUDA kernel for bitsandbytes LLM.int8 (SCB / 127)";
    case ElementCoding::kMlxAffine:
      return "no CUDA kernel for MLX affine (q * scale + bias)";
    case ElementCoding::kSparse24Bitmask:
      return "no CUDA kernel for 2:4 sparse values (scattered by their bitmask)";
    default:
      return cuda_decodes(c) ? nullptr : "not a coding the kernels know";
  }
}

}  // namespace ckd

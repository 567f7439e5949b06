#include "numerics/formats.h"

#include <bit>

#include <fmt/format.h>

#include "io/checked.h"

namespace ckd {

namespace {

using D = Dtype;
constexpr DtypeSet kFp8Weights{D::kF8_E4M3, D::kF8_E5M2};
constexpr DtypeSet kFp4Weights{D::kU8, D::kF4};
constexpr DtypeSet kFloatScales{D::kF32, D::kBF16, D::kF16};
// DeepSeek-style block scales: F32, BF16, or UE8M0 exponents (F8_E8M0 or raw U8).
constexpr DtypeSet kBlockFp8Scales{D::kF32, D::kBF16, D::kF8_E8M0, D::kU8};
constexpr DtypeSet kE8M0Scales{D::kU8, D::kF8_E8M0};
// GPTQ / AWQ scales are the model's half dtype: F16 (AutoGPTQ, AutoAWQ) or BF16 (GPTQModel
// with a bfloat16 model).
constexpr DtypeSet kHalfScales{D::kF16, D::kBF16};
constexpr std::array<GlobalScaleParam, 2> kNoGlobal{};

// Field order: format, name, declared_by, weight dtypes (+ text), packing, coding, scale grid,
// fixed group, block-scale dtypes, other scale dtypes, zero points and their dtypes, global
// scales, limit key,
// compare's decoder.
constexpr std::array<WeightFormatTraits, 20> kFormats = {{
    {WeightFormat::kFp8Block, "FP8 block",
     "quant_method fp8 with weight_block_size; compressed-tensors float 8-bit block strategy; "
     "modelopt FP8_PB_WO",
     kFp8Weights, "F8_E4M3", WeightPacking::kOnePerElement, ElementCoding::kF8E4M3,
     ScaleGrid::kBlock, 0, kBlockFp8Scales, kBlockFp8Scales, ZeroPoints::kNone, DtypeSet{},
     kNoGlobal, "fp8", CompareDecoder::kFp8},
    {WeightFormat::kFp8Tensor, "FP8 per-tensor",
     "quant_method fp8 without blocks; compressed-tensors float 8-bit tensor; modelopt FP8; "
     "quark fp8_e4m3 per_tensor",
     kFp8Weights, "F8_E4M3", WeightPacking::kOnePerElement, ElementCoding::kF8E4M3,
     ScaleGrid::kTensor, 0, kFloatScales, kFloatScales, ZeroPoints::kNone, DtypeSet{}, kNoGlobal,
     "fp8", CompareDecoder::kFp8},
    {WeightFormat::kFp8Channel, "FP8 per-channel",
     // fbgemm_fp8 is this format: F32 weight_scale [out, 1], W = fp8(q) x s[row] (vLLM
     // quantization/fbgemm_fp8.py); so is Quark's per_channel fp8 ([out] scales).
     "compressed-tensors float 8-bit channel; modelopt FP8_PER_CHANNEL_PER_TOKEN; fbgemm_fp8; "
     "quark fp8_e4m3 per_channel",
     kFp8Weights,
     "F8_E4M3", WeightPacking::kOnePerElement, ElementCoding::kF8E4M3, ScaleGrid::kChannel, 0,
     kFloatScales, kFloatScales, ZeroPoints::kNone, DtypeSet{}, kNoGlobal, "fp8",
     CompareDecoder::kFp8},
    {WeightFormat::kFp8Group, "FP8 group", "compressed-tensors float 8-bit group / tensor_group",
     kFp8Weights, "F8_E4M3", WeightPacking::kOnePerElement, ElementCoding::kF8E4M3,
     ScaleGrid::kGroupAlongRow, 0, kFloatScales, kFloatScales, ZeroPoints::kNone, DtypeSet{},
     kNoGlobal, "fp8", CompareDecoder::kFp8},
    // Two global-scale directions, one per producer (FORMATS.md §4.7, §5.3).
    {WeightFormat::kNvfp4,
     "NVFP4",
     "compressed-tensors nvfp4-pack-quantized; modelopt NVFP4",
     kFp4Weights,
     "U8 (two E2M1 codes per byte) or F4",
     WeightPacking::kFp4PerByte,
     ElementCoding::kE2M1Packed,
     ScaleGrid::kGroupAlongRow,
     16,
     DtypeSet{D::kF8_E4M3},
     DtypeSet{D::kF32},
     ZeroPoints::kNone,
     DtypeSet{},
     {{{"weight_scale_2", GlobalScaleOp::kMultiply},
       {"weight_global_scale", GlobalScaleOp::kDivide}}},
     "nvfp4",
     CompareDecoder::kNvfp4},
    {WeightFormat::kMxfp4, "MXFP4",
     "compressed-tensors mxfp4-pack-quantized; modelopt MXFP4; quant_method mxfp4 (gpt-oss); "
     "quark fp4 per_group 32 e8m0 (OCP MX)",
     kFp4Weights, "U8 (two E2M1 codes per byte) or F4", WeightPacking::kFp4PerByte,
     ElementCoding::kE2M1Packed, ScaleGrid::kGroupAlongRow, 32, kE8M0Scales, DtypeSet{},
     ZeroPoints::kNone, DtypeSet{}, kNoGlobal, "mxfp4", CompareDecoder::kMxfp4},
    {WeightFormat::kMxfp8, "MXFP8",
     "compressed-tensors mxfp8-quantized; modelopt MXFP8; quark fp8_e4m3 per_group 32 e8m0",
     kFp8Weights, "F8_E4M3", WeightPacking::kOnePerElement, ElementCoding::kF8E4M3,
     ScaleGrid::kGroupAlongRow, 32, kE8M0Scales, DtypeSet{}, ZeroPoints::kNone, DtypeSet{},
     kNoGlobal, "mxfp8", CompareDecoder::kFp8},
    {WeightFormat::kIntPacked, "INT packed", "compressed-tensors pack-quantized / marlin-24",
     DtypeSet{D::kI32, D::kU8}, "I32 (packed integers)", WeightPacking::kInt32AlongRow,
     ElementCoding::kIntDense, ScaleGrid::kGroupAlongRow, 0, kFloatScales, kFloatScales,
     ZeroPoints::kDeclared, DtypeSet{}, kNoGlobal, "int*", CompareDecoder::kInt},
    {WeightFormat::kInt8, "INT8", "compressed-tensors int-quantized / naive-quantized int",
     DtypeSet{D::kI8}, "I8", WeightPacking::kOnePerElement, ElementCoding::kInt8,
     ScaleGrid::kGroupAlongRow, 0, kFloatScales, kFloatScales, ZeroPoints::kDeclared, DtypeSet{},
     kNoGlobal, "int*", CompareDecoder::kInt},
    // GPTQModel nn_modules/qlinear/__init__.py (BaseQuantLinear buffers), AutoGPTQ
    // qlinear_cuda_old.py, vLLM model_executor/layers/quantization/gptq.py: qweight
    // [in*bits/32, out], qzeros [groups, out*bits/32], scales [groups, out], g_idx [in].
    {WeightFormat::kGptq, "GPTQ", "quant_method gptq; auto-round packing_format auto_gptq",
     DtypeSet{D::kI32}, "I32 (values packed down the input dimension)",
     WeightPacking::kInt32AlongInput, ElementCoding::kGptqColumnPacked, ScaleGrid::kGroupByInput, 0,
     kHalfScales, DtypeSet{}, ZeroPoints::kPackedPerGroup, DtypeSet{D::kI32}, kNoGlobal, "gptq-int*",
     CompareDecoder::kGptq},
    // AutoAWQ awq/modules/linear/gemm.py (WQLinear_GEMM): qweight [in, out/8], qzeros
    // [in/g, out/8], scales [in/g, out]; vLLM quantization/awq.py reads the same.
    {WeightFormat::kAwqGemm, "AWQ GEMM", "quant_method awq, version gemm", DtypeSet{D::kI32},
     "I32 (eight 4-bit values per word along the output dimension)",
     WeightPacking::kInt32AlongOutput, ElementCoding::kAwqInterleaved, ScaleGrid::kGroupByInput, 0,
     kHalfScales, DtypeSet{}, ZeroPoints::kPackedPerGroup, DtypeSet{D::kI32}, kNoGlobal, "awq-int4",
     CompareDecoder::kAwq},
    // AutoAWQ awq/modules/linear/gemv.py (WQLinear_GEMV): qweight [out, in/8], qzeros
    // [out, zeros_width], scales [out, zeros_width*8].
    {WeightFormat::kAwqGemv, "AWQ GEMV", "quant_method awq, version gemv", DtypeSet{D::kI32},
     "I32 (eight 4-bit values per word along the input dimension)", WeightPacking::kInt32AlongRow,
     ElementCoding::kAwqRowPacked, ScaleGrid::kAwqGemv, 0, kHalfScales, DtypeSet{},
     ZeroPoints::kPackedPerGroup, DtypeSet{D::kI32}, kNoGlobal, "awq-int4", CompareDecoder::kAwq},
    // bitsandbytes 4-bit (functional.py QuantState.as_dict, nn/modules.py Linear4bit
    // _save_to_state_dict): weight U8 [ceil(n/2), 1], weight.absmax F32 [ceil(n/blocksize)] (U8
    // codes with F32 nested_absmax under double quantization), weight.quant_map F32 [16],
    // weight.quant_state.bitsandbytes__<type> (JSON bytes). Only the table's dtype facts are
    // header-checkable; missing-quant-state holds the rest to the quant state.
    {WeightFormat::kBnbNf4, "bitsandbytes NF4", "quant_method bitsandbytes, load_in_4bit, nf4",
     DtypeSet{D::kU8}, "U8 (two 4-bit codes per byte, flattened)", WeightPacking::kFlatNibbles,
     ElementCoding::kBnbNf4, ScaleGrid::kFlatBlocks, 0, DtypeSet{D::kF32, D::kU8},
     DtypeSet{D::kF32}, ZeroPoints::kNone, DtypeSet{}, kNoGlobal, "bnb-nf4", CompareDecoder::kBnb},
    {WeightFormat::kBnbFp4, "bitsandbytes FP4", "quant_method bitsandbytes, load_in_4bit, fp4",
     DtypeSet{D::kU8}, "U8 (two 4-bit codes per byte, flattened)", WeightPacking::kFlatNibbles,
     ElementCoding::kBnbFp4, ScaleGrid::kFlatBlocks, 0, DtypeSet{D::kF32, D::kU8},
     DtypeSet{D::kF32}, ZeroPoints::kNone, DtypeSet{}, kNoGlobal, "bnb-fp4", CompareDecoder::kBnb},
    // bitsandbytes 8-bit (nn/modules.py Linear8bitLt._save_to_state_dict): weight I8 [out, in],
    // SCB F32 [out] (each row's absmax), weight_format (U8, 0 = row-major).
    {WeightFormat::kBnbInt8, "bitsandbytes INT8", "quant_method bitsandbytes, load_in_8bit",
     DtypeSet{D::kI8}, "I8", WeightPacking::kOnePerElement, ElementCoding::kBnbInt8,
     ScaleGrid::kChannel, 0, DtypeSet{D::kF32}, DtypeSet{D::kF32}, ZeroPoints::kNone, DtypeSet{},
     kNoGlobal, "bnb-int8", CompareDecoder::kBnb},
    // MLX affine (mlx/ops.cpp quantize, mlx/nn/layers/quantized.py QuantizedLinear): weight U32
    // [out, in*bits/32], scales and biases [out, in/group_size] in the model's float dtype.
    {WeightFormat::kMlxAffine, "MLX affine", "config.json \"quantization\": {group_size, bits}",
     DtypeSet{D::kU32}, "U32 (bits-bit values packed along the row)",
     WeightPacking::kUint32BitStream, ElementCoding::kMlxAffine, ScaleGrid::kGroupAlongRow, 0,
     kFloatScales, kFloatScales, ZeroPoints::kAffineBias, kFloatScales, kNoGlobal, "mlx*",
     CompareDecoder::kMlx},
    // compressed-tensors sparse-24-bitmask (0.14.0.1 compressors/sparse_compressors/
    // sparse_24_bitmask.py; removed in 0.15): `compressed` [out, in/2] in the weight's dtype,
    // `bitmask` U8 [out, ceil(in/8)], `shape` I64 [2, 1] = [out, in]. vLLM's CompressedTensors24
    // (compressed_tensors/schemes/compressed_tensors_24.py) scatters them back and runs the
    // unquantized or 8-bit (TENSOR / CHANNEL weight scales) 2:4 CUTLASS kernels. No scale when
    // unquantized; stacked over FP8 the values are the E4M3 codes, W = fp8(q) x s.
    {WeightFormat::kSparse24, "2:4 sparse",
     "compressed-tensors sparsity_config sparse-24-bitmask without weight quantization",
     DtypeSet{D::kBF16, D::kF16, D::kF32}, "BF16, F16 or F32 (the kept values)",
     WeightPacking::kSparse24Bitmask, ElementCoding::kSparse24Bitmask, ScaleGrid::kTensor, 0,
     DtypeSet{}, DtypeSet{}, ZeroPoints::kNone, DtypeSet{}, kNoGlobal, "sparse24",
     CompareDecoder::kSparse24},
    {WeightFormat::kSparse24Fp8Tensor, "2:4 sparse FP8 per-tensor",
     "compressed-tensors sparse-24-bitmask over float-quantized 8-bit tensor",
     kFp8Weights, "F8_E4M3 (the kept codes)", WeightPacking::kSparse24Bitmask,
     ElementCoding::kSparse24Bitmask, ScaleGrid::kTensor, 0, kFloatScales, kFloatScales,
     ZeroPoints::kNone, DtypeSet{}, kNoGlobal, "sparse24-fp8", CompareDecoder::kSparse24},
    {WeightFormat::kSparse24Fp8Channel, "2:4 sparse FP8 per-channel",
     "compressed-tensors sparse-24-bitmask over float-quantized 8-bit channel",
     kFp8Weights, "F8_E4M3 (the kept codes)", WeightPacking::kSparse24Bitmask,
     ElementCoding::kSparse24Bitmask, ScaleGrid::kChannel, 0, kFloatScales, kFloatScales,
     ZeroPoints::kNone, DtypeSet{}, kNoGlobal, "sparse24-fp8", CompareDecoder::kSparse24},
    {WeightFormat::kUnknown, "unknown", "a declaration ckptdoctor does not model", DtypeSet{}, "",
     WeightPacking::kOnePerElement, ElementCoding::kF8E4M3, ScaleGrid::kTensor, 0, DtypeSet{},
     DtypeSet{}, ZeroPoints::kNone, DtypeSet{}, kNoGlobal, "", CompareDecoder::kNone},
}};

// The table is in enum order, so a row is found by index; these hold that.
constexpr bool rows_in_enum_order() {
  for (size_t i = 0; i < kFormats.size(); ++i) {
    if (static_cast<size_t>(kFormats[i].format) != i + 1) return false;  // kNone has no row
  }
  return true;
}
static_assert(rows_in_enum_order(), "kFormats rows must follow WeightFormat's order");
static_assert(static_cast<size_t>(WeightFormat::kUnknown) == kFormats.size(),
              "every WeightFormat has a row");
// The codings are one enum for CPU and CUDA (element_coding.h); the kernels' ABI is its values.
static_assert(static_cast<int>(ElementCoding::kF8E4M3) == 0 &&
                  static_cast<int>(ElementCoding::kIntLegacy) == 4 &&
                  static_cast<int>(ElementCoding::kSparse24Bitmask) == kElementCodingCount - 1,
              "ElementCoding values are the CUDA ModuleSpec's");

}  // namespace

std::string DtypeSet::names(std::string_view separator) const {
  std::string out;
  for (int i = 0; i < kDtypeCount; ++i) {
    if (!contains(static_cast<Dtype>(i))) continue;
    if (!out.empty()) out += separator;
    out += dtype_name(static_cast<Dtype>(i));
  }
  return out;
}

std::string WeightFormatTraits::limit_key_for(int bits) const {
  if (limit_key.ends_with('*'))
    return fmt::format("{}{}", limit_key.substr(0, limit_key.size() - 1), bits);
  return std::string(limit_key);
}

namespace {

// count values of `bits` bits in `words` int32 words, when that is a whole number.
std::optional<uint64_t> values_in_words(uint64_t words, int bits) {
  if (bits <= 0 || bits > 32) return std::nullopt;
  auto total_bits = checked_mul(words, 32);
  if (!total_bits || *total_bits % static_cast<uint64_t>(bits) != 0) return std::nullopt;
  return *total_bits / static_cast<uint64_t>(bits);
}

}  // namespace

std::optional<LogicalMatrix> logical_matrix(const WeightFormatTraits& traits, Dtype stored,
                                            int bits, uint64_t rows, uint64_t cols) {
  switch (traits.packing) {
    case WeightPacking::kOnePerElement:
      return LogicalMatrix{rows, cols};
    case WeightPacking::kFp4PerByte: {
      if (stored != Dtype::kU8) return LogicalMatrix{rows, cols};
      auto in = checked_mul(cols, 2);
      if (!in) return std::nullopt;
      return LogicalMatrix{rows, *in};
    }
    case WeightPacking::kInt32AlongRow: {
      // 32/bits values per word when they divide it (AWQ GEMV, legacy compressed-tensors); the
      // dense compressed-tensors packing pads the row, so `in` stays unknown otherwise.
      if (bits <= 0 || 32 % bits != 0) return LogicalMatrix{rows, 0};
      auto in = values_in_words(cols, bits);
      if (!in) return std::nullopt;
      return LogicalMatrix{rows, *in};
    }
    case WeightPacking::kInt32AlongInput: {
      auto in = values_in_words(rows, bits);
      if (!in) return std::nullopt;
      return LogicalMatrix{cols, *in};
    }
    case WeightPacking::kInt32AlongOutput: {
      auto out = values_in_words(cols, bits);
      if (!out) return std::nullopt;
      return LogicalMatrix{*out, rows};
    }
    case WeightPacking::kFlatNibbles:
      // [ceil(n/2), 1] holds the element count only; the shape is in the quant_state.
      if (cols != 1) return std::nullopt;
      return LogicalMatrix{0, 0};
    case WeightPacking::kUint32BitStream: {
      auto in = values_in_words(cols, bits);
      if (!in) return std::nullopt;
      return LogicalMatrix{rows, *in};
    }
    case WeightPacking::kSparse24Bitmask: {  // two of every four values kept
      auto in = checked_mul(cols, 2);
      if (!in) return std::nullopt;
      return LogicalMatrix{rows, *in};
    }
  }
  return std::nullopt;
}

std::optional<uint32_t> packed_value(std::string_view bytes, uint64_t i, int bits) {
  if (bits <= 0 || bits > 32) return std::nullopt;
  auto first_bit = checked_mul(i, static_cast<uint64_t>(bits));
  if (!first_bit || *first_bit / 8 >= bytes.size() ||
      (*first_bit + static_cast<uint64_t>(bits) + 7) / 8 > bytes.size()) {
    return std::nullopt;
  }
  // Bytes are little-endian within each int32 and words follow each other, so the stream is
  // the bytes in file order, bit k of the stream = bit k%8 of byte k/8.
  uint64_t window = 0;
  uint64_t byte = *first_bit / 8;
  for (uint64_t k = 0; k < 5 && byte + k < bytes.size(); ++k)
    window |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[byte + k])) << (8 * k);
  uint64_t mask = (uint64_t{1} << bits) - 1;
  return static_cast<uint32_t>((window >> (*first_bit % 8)) & mask);
}

Sparse24MaskCount count_bad_24_groups(std::string_view mask, uint64_t rows, uint64_t cols) {
  Sparse24MaskCount out;
  const uint64_t row_bytes = (cols + 7) / 8, groups = cols / 4;
  const auto* bytes = reinterpret_cast<const unsigned char*>(mask.data());
  for (uint64_t r = 0; r < rows; ++r) {
    const unsigned char* row = bytes + r * row_bytes;
    for (uint64_t g = 0; g < groups; ++g) {  // four bits within one byte: 4g is a multiple of 4
      const int kept = std::popcount(static_cast<unsigned>((row[g / 2] >> (4 * (g % 2))) & 0xF));
      if (kept == 2) continue;
      if (out.bad_groups++ == 0) out.first_row = r, out.first_group = g, out.first_kept = kept;
    }
  }
  return out;
}

std::span<const WeightFormatTraits> weight_formats() {
  return {kFormats.data(), kFormats.size() - 1};  // kUnknown is not a format
}

const WeightFormatTraits* format_traits(WeightFormat format) {
  if (format == WeightFormat::kNone || format == WeightFormat::kUnknown) return nullptr;
  return &kFormats[static_cast<size_t>(format) - 1];
}

const char* weight_format_name(WeightFormat f) {
  if (f == WeightFormat::kNone) return "none";
  return kFormats[static_cast<size_t>(f) - 1].name;
}

}  // namespace ckd

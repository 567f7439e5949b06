// The one weight-format table (as ggml's type traits): one row per WeightFormat saying what the
// format stores and how it decodes. Scan's dtype and shape checks, the tests and (next) compare's
// decoder and the CUDA kernels read it instead of switching on the format. A new format is its
// row here, its declaration reader (src/checkpoint), its decoder file, its fixture and its test.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "checkpoint/quant_scheme.h"
#include "numerics/element_coding.h"
#include "safetensors/dtype.h"

namespace ckd {

// A set of safetensors dtypes (Dtype has fewer than 32 values).
class DtypeSet {
 public:
  constexpr DtypeSet() = default;
  constexpr DtypeSet(std::initializer_list<Dtype> dtypes) {
    for (Dtype d : dtypes) bits_ |= 1u << static_cast<unsigned>(d);
  }
  constexpr bool contains(Dtype d) const { return (bits_ >> static_cast<unsigned>(d)) & 1u; }
  constexpr bool empty() const { return bits_ == 0; }
  std::string names(std::string_view separator = " or ") const;  // in Dtype order

 private:
  uint32_t bits_ = 0;
};
static_assert(kDtypeCount <= 32, "DtypeSet holds one bit per Dtype");

// How codes are laid out in the stored weight tensor (logical weight [out, in]).
enum class WeightPacking {
  kOnePerElement,     // [out, in], one stored element per weight element (F8, I8)
  kFp4PerByte,        // U8 [out, in/2], two E2M1 codes per byte; an F4 tensor is [out, in]
  kInt32AlongRow,     // compressed-tensors pack-quantized: [out, ceil(in*bits/32)] int32
  kInt32AlongInput,   // GPTQ qweight [in*bits/32, out] int32 (the transpose of the matrix)
  kInt32AlongOutput,  // AWQ GEMM qweight [in, out*bits/32] int32
  kFlatNibbles,       // bitsandbytes 4-bit: U8 [ceil(out*in/2), 1], the flattened weight
  kUint32BitStream,   // MLX: U32 [out, in*bits/32], each row one bit stream (no padding)
  kSparse24Bitmask,   // compressed-tensors sparse-24-bitmask: `compressed` [out, in/2], the two
                      // kept values of every four, placed by `bitmask` U8 [out, ceil(in/8)]
};

// Where the per-block scales sit relative to the weight.
enum class ScaleGrid {
  kBlock,          // [ceil(out/bn), ceil(in/bk)] (or modelopt [a, 1, b, 1])
  kTensor,         // one value
  kChannel,        // one per output row: [out] or [out, 1]
  kGroupAlongRow,  // [out, ceil(in/g)]
  kGroupByInput,   // GPTQ / AWQ GEMM: [ceil(in/g), out]
  kAwqGemv,        // AWQ GEMV: [out, zeros_width(in, g) * 8]
  kFlatBlocks,     // bitsandbytes absmax: [ceil(out*in/blocksize)] over the flattened weight
};

enum class ZeroPoints {
  kNone,            // symmetric by construction
  kDeclared,        // compressed-tensors weight_zero_point when symmetric is false
  kPackedPerGroup,  // GPTQ / AWQ qzeros, packed like the weight along the output dimension
  kAffineBias,      // MLX biases: a float added per group (W = q * scale + bias), scales signed
};

enum class GlobalScaleOp {
  kNone,
  kMultiply,  // modelopt weight_scale_2: scale x global
  kDivide,    // compressed-tensors weight_global_scale: scale / global
};

// A tensor-wide scale and the direction its format applies it in.
struct GlobalScaleParam {
  std::string_view name;
  GlobalScaleOp op;
};

// The compare decoder (src/compare/formats/*.cpp) that maps a module of the format onto its
// QuantizedMatrix.
enum class CompareDecoder { kNone, kFp8, kNvfp4, kMxfp4, kInt, kGptq, kAwq, kBnb, kMlx, kSparse24 };

struct WeightFormatTraits {
  WeightFormat format;
  const char* name;              // "FP8 block", as reports print it
  std::string_view declared_by;  // the config that declares it
  DtypeSet weight_dtypes;        // what the stored weight may be
  std::string_view weight_dtypes_text;
  WeightPacking packing;
  ElementCoding coding;
  ScaleGrid grid;
  uint32_t fixed_group;         // elements per scale the format fixes (0: declared)
  DtypeSet block_scale_dtypes;  // the per-block / per-group scale; empty: the format has none
  DtypeSet other_scale_dtypes;  // global and input scales; empty: any float
  ZeroPoints zero_points;
  DtypeSet zero_point_dtypes;                     // empty: not checked
  std::array<GlobalScaleParam, 2> global_scales;  // unused slots have an empty name
  // The roundtrip-error limit key (rules/roundtrip.json): as is, or + bits when it ends in '*'.
  std::string_view limit_key;
  CompareDecoder decoder;  // compare's decoder family (kNone: "not compared yet")

  // "int4" for "int*" at 4 bits.
  std::string limit_key_for(int bits) const;
};

// The logical [out, in] of a stored weight's last two dimensions [rows, cols] under the format's
// packing at `bits` (in = 0 when the packing does not determine it: compressed-tensors pads each
// row). nullopt when the stored shape is not a whole number of packed values.
struct LogicalMatrix {
  uint64_t out = 0, in = 0;
};
std::optional<LogicalMatrix> logical_matrix(const WeightFormatTraits& traits, Dtype stored,
                                            int bits, uint64_t rows, uint64_t cols);

// Value i of a stream of `bits`-bit values packed into little-endian int32 words, value i at
// bit i*bits (GPTQ's packing of qweight columns and qzeros rows, 3-bit values straddling
// words). Returns nullopt when the value would end past `bytes`.
std::optional<uint32_t> packed_value(std::string_view bytes, uint64_t i, int bits);

// sparse-24-bitmask's bitmask: U8 [rows, ceil(cols/8)], element c of a row at bit c % 8 of byte
// c / 8 (numpy packbits, bitorder "little"). Every group of four elements of a row keeps exactly
// two (get_24_bytemasks: the top-2 of each 4 by magnitude, even when values are 0); a group
// with another count does not fit compressed [rows, cols/2] and scatters the row's values into
// the wrong places. `cols` is a multiple of 4 and `mask` holds rows * ceil(cols/8) bytes.
struct Sparse24MaskCount {
  uint64_t bad_groups = 0;
  uint64_t first_row = 0, first_group = 0;  // the first bad group
  int first_kept = 0;                       // its set bits
};
Sparse24MaskCount count_bad_24_groups(std::string_view mask, uint64_t rows, uint64_t cols);

// Affine formats store a signed scale with a bias per group (MLX: a group whose extreme is
// negative gets a negative scale), so a negative scale is no defect there.
inline bool scales_may_be_negative(const WeightFormatTraits& traits) {
  return traits.zero_points == ZeroPoints::kAffineBias;
}

// GPTQ and AWQ multiply (q - z) by the scale and never divide by it, and auto-round's symmetric
// quantizer stores the signed larger extreme over 2^(bits-1) (auto_round/data_type/int.py
// quant_tensor_sym), so about half the scales of its healthy GPTQ exports are negative. A zero
// scale still wipes its group.
inline bool negative_scales_allowed(const WeightFormatTraits& traits) {
  return scales_may_be_negative(traits) || traits.zero_points == ZeroPoints::kPackedPerGroup;
}

// The table, one row per WeightFormat except kNone and kUnknown, in enum order.
std::span<const WeightFormatTraits> weight_formats();
// The row of a format; nullptr for kNone and kUnknown (no quantized weight to describe).
const WeightFormatTraits* format_traits(WeightFormat format);

}  // namespace ckd

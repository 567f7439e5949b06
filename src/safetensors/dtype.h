// The safetensors dtype table (FORMATS.md §1.4): names, bit sizes and what kind of number each is.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ckd {

enum class Dtype : uint8_t {
  kBool,
  kF4,
  kF6_E2M3,
  kF6_E3M2,
  kU8,
  kI8,
  kF8_E5M2,
  kF8_E4M3,
  kF8_E8M0,
  kF8_E4M3FNUZ,
  kF8_E5M2FNUZ,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kC64,
  kF64,
  kI64,
  kU64,
};

inline constexpr int kDtypeCount = 22;

std::optional<Dtype> parse_dtype(std::string_view name);
std::string_view dtype_name(Dtype d);
uint32_t dtype_bits(Dtype d);
// Floats of 16 bits or more: what a "false FP8" checkpoint still stores.
bool is_high_precision_float(Dtype d);
// 8-bit and smaller float encodings (F8_*, F6_*, F4).
bool is_low_precision_float(Dtype d);
bool is_fp8(Dtype d);

}  // namespace ckd

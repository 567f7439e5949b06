#include "safetensors/dtype.h"

#include <array>

namespace ckd {

namespace {

struct DtypeRow {
  Dtype dtype;
  std::string_view name;
  uint32_t bits;
};

constexpr std::array<DtypeRow, kDtypeCount> kDtypes = {{
    {Dtype::kBool, "BOOL", 8},
    {Dtype::kF4, "F4", 4},
    {Dtype::kF6_E2M3, "F6_E2M3", 6},
    {Dtype::kF6_E3M2, "F6_E3M2", 6},
    {Dtype::kU8, "U8", 8},
    {Dtype::kI8, "I8", 8},
    {Dtype::kF8_E5M2, "F8_E5M2", 8},
    {Dtype::kF8_E4M3, "F8_E4M3", 8},
    {Dtype::kF8_E8M0, "F8_E8M0", 8},
    {Dtype::kF8_E4M3FNUZ, "F8_E4M3FNUZ", 8},
    {Dtype::kF8_E5M2FNUZ, "F8_E5M2FNUZ", 8},
    {Dtype::kI16, "I16", 16},
    {Dtype::kU16, "U16", 16},
    {Dtype::kF16, "F16", 16},
    {Dtype::kBF16, "BF16", 16},
    {Dtype::kI32, "I32", 32},
    {Dtype::kU32, "U32", 32},
    {Dtype::kF32, "F32", 32},
    {Dtype::kC64, "C64", 64},
    {Dtype::kF64, "F64", 64},
    {Dtype::kI64, "I64", 64},
    {Dtype::kU64, "U64", 64},
}};

}  // namespace

std::optional<Dtype> parse_dtype(std::string_view name) {
  // Every tensor of every header: the length and first character rule out most rows before a
  // comparison call.
  for (const auto& row : kDtypes) {
    if (row.name.size() == name.size() && row.name.front() == name.front() && row.name == name)
      return row.dtype;
  }
  return std::nullopt;
}

std::string_view dtype_name(Dtype d) {
  return kDtypes[static_cast<size_t>(d)].name;
}
uint32_t dtype_bits(Dtype d) {
  return kDtypes[static_cast<size_t>(d)].bits;
}

bool is_high_precision_float(Dtype d) {
  return d == Dtype::kF16 || d == Dtype::kBF16 || d == Dtype::kF32 || d == Dtype::kF64;
}

bool is_fp8(Dtype d) {
  return d == Dtype::kF8_E4M3 || d == Dtype::kF8_E5M2 || d == Dtype::kF8_E4M3FNUZ ||
         d == Dtype::kF8_E5M2FNUZ || d == Dtype::kF8_E8M0;
}

bool is_low_precision_float(Dtype d) {
  return is_fp8(d) || d == Dtype::kF4 || d == Dtype::kF6_E2M3 || d == Dtype::kF6_E3M2;
}

}  // namespace ckd

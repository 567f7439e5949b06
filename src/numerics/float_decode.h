// Element decoders for every float encoding a checkpoint stores (FORMATS.md §2), defined once
// and tested against ml_dtypes tables (fixtures/oracle). Used by scale checks, --deep and compare.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "safetensors/dtype.h"

namespace ckd {

// Inline: --deep and compare decode BF16 once per element.
inline float decode_bf16(uint16_t bits) {
  uint32_t w = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &w, 4);
  return f;
}
float decode_f16(uint16_t bits);
float decode_f8_e4m3fn(uint8_t code);
float decode_f8_e5m2(uint8_t code);
float decode_f8_e4m3fnuz(uint8_t code);
float decode_f8_e5m2fnuz(uint8_t code);
float decode_e8m0(uint8_t code);    // 2^(code-127), 0xFF is NaN
float decode_e2m1(uint8_t nibble);  // low 4 bits

// The tables behind decode_f8_e4m3fn and decode_e2m1, for loops that decode every element
// (compare's dequantization, the CUDA kernel's constant tables).
const std::array<float, 256>& f8_e4m3fn_table();
const std::array<float, 16>& e2m1_table();

// Decodes element `index` of a tensor's little-endian bytes as a double, for the float and
// integer dtypes with a single value per byte group. Returns nullopt for sub-byte and complex
// dtypes. `bytes` must hold at least (index+1) elements (callers check sizes first).
std::optional<double> decode_element(Dtype dtype, std::string_view bytes, uint64_t index);

}  // namespace ckd

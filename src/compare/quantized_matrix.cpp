#include "compare/quantized_matrix.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "numerics/float_decode.h"

namespace ckd {

namespace {

struct Tables {
  std::array<float, 256> e4m3{};
  std::array<float, 256> e8m0{};
  std::array<float, 16> e2m1{};
  Tables() {
    for (int i = 0; i < 256; ++i) {
      e4m3[i] = decode_f8_e4m3fn(static_cast<uint8_t>(i));
      e8m0[i] = decode_e8m0(static_cast<uint8_t>(i));
    }
    for (int i = 0; i < 16; ++i) e2m1[i] = decode_e2m1(static_cast<uint8_t>(i));
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

float stored_scale(Dtype dtype, const unsigned char* p, uint64_t i) {
  switch (dtype) {
    case Dtype::kF32: {
      float f;
      std::memcpy(&f, p + 4 * i, 4);
      return f;
    }
    case Dtype::kBF16:
      return decode_bf16(static_cast<uint16_t>(p[2 * i] | (p[2 * i + 1] << 8)));
    case Dtype::kF16:
      return decode_f16(static_cast<uint16_t>(p[2 * i] | (p[2 * i + 1] << 8)));
    case Dtype::kF8_E4M3:
      return tables().e4m3[p[i]];
    default:  // U8 / F8_E8M0: a biased exponent
      return tables().e8m0[p[i]];
  }
}

}  // namespace

std::vector<float> effective_scales(const QuantizedMatrix& m, std::string_view scale_bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(scale_bytes.data());
  std::vector<float> out(m.scale_rows * m.scale_cols);
  for (uint64_t i = 0; i < out.size(); ++i) {
    float s = stored_scale(m.scale_dtype, p, i);
    // The producers' order: compressed-tensors divides the scale by the global first,
    // modelopt multiplies them, then the element is multiplied by the result.
    if (m.global_op == GlobalScaleOp::kDivide) s = s / m.global;
    if (m.global_op == GlobalScaleOp::kMultiply) s = s * m.global;
    out[i] = s;
  }
  return out;
}

void decode_rows(const QuantizedMatrix& m, const std::vector<float>& scales,
                 std::string_view code_bytes, uint64_t first_row, uint64_t rows, float* out) {
  const auto* codes = reinterpret_cast<const unsigned char*>(code_bytes.data());
  const Tables& t = tables();
  const uint64_t row_bytes = m.code_bytes_per_row();
  for (uint64_t i = 0; i < rows; ++i) {
    const uint64_t r = first_row + i;
    const float* scale_row = scales.data() + (r / m.block_rows) * m.scale_cols;
    const unsigned char* row = codes + i * row_bytes;
    float* dst = out + i * m.cols;
    // Block by block: one scale load per block, no division per element.
    for (uint64_t c0 = 0, j = 0; c0 < m.cols; c0 += m.block_cols, ++j) {
      const uint64_t c1 = std::min(m.cols, c0 + m.block_cols);
      const float s = scale_row[j];
      if (m.coding == ElementCoding::kF8E4M3) {
        for (uint64_t c = c0; c < c1; ++c) dst[c] = t.e4m3[row[c]] * s;
      } else {
        for (uint64_t c = c0; c < c1; c += 2) {  // blocks are even-sized: whole bytes
          const unsigned char b = row[c / 2];
          dst[c] = t.e2m1[b & 0x0F] * s;
          dst[c + 1] = t.e2m1[b >> 4] * s;
        }
      }
    }
  }
}

}  // namespace ckd

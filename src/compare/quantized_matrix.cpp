#include "compare/quantized_matrix.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "checkpoint/checkpoint.h"
#include "numerics/bnb_codes.h"
#include "numerics/float_decode.h"

namespace ckd {

uint64_t QuantizedMatrix::words_per_row() const {
  if (coding == ElementCoding::kIntDense || coding == ElementCoding::kMlxAffine)
    return (cols * static_cast<uint64_t>(bits) + 31) / 32;
  uint64_t per_word = 32 / static_cast<uint64_t>(bits);
  return (cols + per_word - 1) / per_word;
}

uint64_t QuantizedMatrix::code_bytes_per_row() const {
  switch (coding) {
    case ElementCoding::kE2M1Packed:
    case ElementCoding::kBnbNf4:
    case ElementCoding::kBnbFp4:
      return cols / 2;
    case ElementCoding::kIntDense:
    case ElementCoding::kIntLegacy:
    case ElementCoding::kMlxAffine:
      return 4 * words_per_row();
    case ElementCoding::kDenseFloat:
      return cols * (dtype_bits(fake.weight) / 8);
    default:
      return cols;
  }
}

uint32_t unpack_bits(const unsigned char* words, uint64_t i, int bits, bool dense) {
  const auto b = static_cast<uint64_t>(bits);
  uint64_t bit = dense ? i * b : (i / (32 / b)) * 32 + (i % (32 / b)) * b;
  // The words are little-endian, so the stream is the bytes in order; a value of at most 8 bits
  // lies within the two bytes from the one holding its first bit.
  uint64_t byte = bit / 8, shift = bit % 8;
  uint32_t v = words[byte];
  if (shift + b > 8) v |= static_cast<uint32_t>(words[byte + 1]) << 8;
  return (v >> shift) & ((1u << b) - 1);
}

std::vector<float> zero_point_grid(const QuantizedMatrix& m, std::string_view zero_bytes) {
  std::vector<float> out(m.scale_rows * m.scale_cols, 0.0f);
  if (!m.zero_points) return out;
  if (m.coding == ElementCoding::kMlxAffine) {  // float biases, added after the scale
    const Dtype dtype = *m.zero_points->info->dtype;
    for (uint64_t i = 0; i < out.size(); ++i)
      out[i] = static_cast<float>(*decode_element(dtype, zero_bytes, i));
    return out;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(zero_bytes.data());
  if (m.coding == ElementCoding::kInt8 || m.coding == ElementCoding::kDenseFloat) {  // I8
    for (uint64_t i = 0; i < out.size(); ++i)
      out[i] = static_cast<float>(static_cast<int8_t>(p[i]));
    return out;
  }
  // Packed along dim 0: column g's values are the bit stream of words zp[0..W)[g].
  const bool dense = m.coding == ElementCoding::kIntDense;
  const uint64_t words = zero_bytes.size() / 4 / m.scale_cols;
  std::vector<unsigned char> column(words * 4 + 4, 0);
  const float offset = static_cast<float>(1u << (m.bits - 1));
  for (uint64_t g = 0; g < m.scale_cols; ++g) {
    for (uint64_t w = 0; w < words; ++w)
      std::memcpy(&column[4 * w], p + 4 * (w * m.scale_cols + g), 4);
    for (uint64_t r = 0; r < m.scale_rows; ++r)
      out[r * m.scale_cols + g] =
          static_cast<float>(unpack_bits(column.data(), r, m.bits, dense)) - offset;
  }
  return out;
}

namespace {

// bitsandbytes double quantization (backends/default/ops.py: dequantize_blockwise of the U8
// absmax with the nested code and absmax, then + offset, all float32).
std::vector<float> nested_absmax(const QuantizedMatrix& m, std::string_view codes) {
  std::string_view nested = m.nested_absmax->shard->tensor_bytes(*m.nested_absmax->info);
  std::string_view code = m.nested_code->shard->tensor_bytes(*m.nested_code->info);
  std::vector<float> out(m.scale_rows * m.scale_cols);
  for (uint64_t i = 0; i < out.size(); ++i) {
    float c, a;
    std::memcpy(&c, code.data() + 4 * static_cast<unsigned char>(codes[i]), 4);
    std::memcpy(&a, nested.data() + 4 * (i / m.nested_blocksize), 4);
    out[i] = c * a + m.nested_offset;
  }
  return out;
}

}  // namespace

std::vector<float> effective_scales(const QuantizedMatrix& m, std::string_view scale_bytes) {
  if (m.nested_absmax) return nested_absmax(m, scale_bytes);
  // U8 scales are E8M0 exponents (the MX formats store them so).
  const Dtype dtype = m.scale_dtype == Dtype::kU8 ? Dtype::kF8_E8M0 : m.scale_dtype;
  std::vector<float> out(m.scale_rows * m.scale_cols);
  for (uint64_t i = 0; i < out.size(); ++i) {
    // Exact: every scale dtype's values are floats.
    auto s = static_cast<float>(*decode_element(dtype, scale_bytes, i));
    // The producers' order: compressed-tensors divides the scale by the global first,
    // modelopt multiplies them, then the element is multiplied by the result.
    if (m.global_op == GlobalScaleOp::kDivide) s = s / m.global;
    if (m.global_op == GlobalScaleOp::kMultiply) s = s * m.global;
    out[i] = s;
  }
  return out;
}

void decode_rows(const QuantizedMatrix& m, const std::vector<float>& scales,
                 const std::vector<float>& zeros, std::string_view code_bytes, uint64_t first_row,
                 uint64_t rows, float* out) {
  const auto* codes = reinterpret_cast<const unsigned char*>(code_bytes.data());
  const std::array<float, 256>& e4m3 = f8_e4m3fn_table();
  const std::array<float, 16>& e2m1 = e2m1_table();
  const uint64_t row_bytes = m.code_bytes_per_row();
  const bool dense = m.coding == ElementCoding::kIntDense;
  const int32_t offset = m.bits > 0 ? (1 << (m.bits - 1)) : 0;
  if (m.coding == ElementCoding::kBnbNf4 || m.coding == ElementCoding::kBnbFp4) {
    // Blocks run over the flattened weight and may cross rows: the absmax of element (r, c) is
    // scales[(r * cols + c) / block_cols]; the first element of each byte is its high nibble.
    const std::array<float, 16>& code =
        m.coding == ElementCoding::kBnbNf4 ? kBnbNf4Code : kBnbFp4Code;
    for (uint64_t i = 0; i < rows; ++i) {
      const unsigned char* row = codes + i * row_bytes;
      const uint64_t flat = (first_row + i) * m.cols;
      float* dst = out + i * m.cols;
      for (uint64_t c = 0; c < m.cols; c += 2) {
        const unsigned char b = row[c / 2];
        dst[c] = code[b >> 4] * scales[(flat + c) / m.block_cols];
        dst[c + 1] = code[b & 0x0F] * scales[(flat + c + 1) / m.block_cols];
      }
    }
    return;
  }
  for (uint64_t i = 0; i < rows; ++i) {
    const uint64_t r = first_row + i;
    const uint64_t grid_row = (r / m.block_rows) * m.scale_cols;
    const float* scale_row = scales.data() + grid_row;
    const float* zero_row = zeros.data() + grid_row;
    const unsigned char* row = codes + i * row_bytes;
    float* dst = out + i * m.cols;
    // Block by block: one scale load per block, no division per element.
    for (uint64_t c0 = 0, j = 0; c0 < m.cols; c0 += m.block_cols, ++j) {
      const uint64_t c1 = std::min(m.cols, c0 + m.block_cols);
      const float s = scale_row[j];
      switch (m.coding) {
        case ElementCoding::kF8E4M3:
          for (uint64_t c = c0; c < c1; ++c) dst[c] = e4m3[row[c]] * s;
          break;
        case ElementCoding::kE2M1Packed:
          for (uint64_t c = c0; c < c1; c += 2) {  // blocks are even-sized: whole bytes
            const unsigned char b = row[c / 2];
            dst[c] = e2m1[b & 0x0F] * s;
            dst[c + 1] = e2m1[b >> 4] * s;
          }
          break;
        case ElementCoding::kInt8:
          for (uint64_t c = c0; c < c1; ++c)
            dst[c] = (static_cast<float>(static_cast<int8_t>(row[c])) - zero_row[j]) * s;
          break;
        case ElementCoding::kBnbInt8:
          for (uint64_t c = c0; c < c1; ++c)
            dst[c] = (static_cast<float>(static_cast<int8_t>(row[c])) * s) * kBnbInt8Step;
          break;
        case ElementCoding::kMlxAffine:
          for (uint64_t c = c0; c < c1; ++c)
            dst[c] = static_cast<float>(unpack_bits(row, c, m.bits, true)) * s + zero_row[j];
          break;
        case ElementCoding::kDenseFloat:
          for (uint64_t c = c0; c < c1; ++c) {
            float x;
            if (m.fake.weight == Dtype::kBF16) {
              x = decode_bf16(static_cast<uint16_t>(row[2 * c] | (row[2 * c + 1] << 8)));
            } else {
              std::memcpy(&x, row + 4 * c, 4);
            }
            dst[c] = m.fake.apply(x, s, zero_row[j]);
          }
          break;
        default:
          for (uint64_t c = c0; c < c1; ++c) {
            auto q = static_cast<int32_t>(unpack_bits(row, c, m.bits, dense)) - offset;
            dst[c] = (static_cast<float>(q) - zero_row[j]) * s;
          }
      }
    }
  }
}

}  // namespace ckd

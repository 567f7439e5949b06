#include "compare/quantized_matrix.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstring>

#include "checkpoint/checkpoint.h"
#include "numerics/bnb_codes.h"
#include "numerics/vector_clones.h"
#include "numerics/float_decode.h"

namespace ckd {

namespace {

// The two hot codings have an AVX2 decoder, 8 codes at a time, besides the portable loops
// through the tables. Both place the code's sign, exponent and mantissa bits at the top of a
// float and multiply by the power of two that turns float's exponent bias into the format's:
// exact, subnormals included (they land on float subnormals), so every value equals the
// tables' (tested against f8_e4m3fn_table() and e2m1_table() for every code, on both paths).
std::atomic<bool> avx2_decode{cpu_has_avx2()};

// A row of codes times its block scales: one scale per block, no division per element.
using RowDecoder = void (*)(const unsigned char* codes, uint64_t cols, uint64_t block,
                            const float* scales, float* out);

void e4m3_tail(const unsigned char* codes, uint64_t c0, uint64_t c1, float s, float* out,
               const std::array<float, 256>& table) {
  for (uint64_t c = c0; c < c1; ++c) out[c] = table[codes[c]] * s;
}

void e2m1_tail(const unsigned char* codes, uint64_t c0, uint64_t c1, float s, float* out,
               const std::array<float, 16>& table) {
  for (uint64_t c = c0; c < c1; c += 2) {  // blocks are even-sized: whole bytes
    const unsigned char byte = codes[c / 2];
    out[c] = table[byte & 0x0F] * s;
    out[c + 1] = table[byte >> 4] * s;
  }
}

void decode_e4m3_row_portable(const unsigned char* codes, uint64_t cols, uint64_t block,
                              const float* scales, float* out) {
  const std::array<float, 256>& table = f8_e4m3fn_table();
  for (uint64_t c0 = 0, j = 0; c0 < cols; c0 += block, ++j)
    e4m3_tail(codes, c0, std::min(cols, c0 + block), scales[j], out, table);
}

void decode_e2m1_row_portable(const unsigned char* codes, uint64_t cols, uint64_t block,
                              const float* scales, float* out) {
  const std::array<float, 16>& table = e2m1_table();
  for (uint64_t c0 = 0, j = 0; c0 < cols; c0 += block, ++j)
    e2m1_tail(codes, c0, std::min(cols, c0 + block), scales[j], out, table);
}

#if CKD_HAVE_AVX2_KERNELS
// E4M3 bias 7 against float's 127: 2^120. E4M3FN has no Inf; S.1111.111 is NaN.
CKD_AVX2 inline __m256 e4m3_to_float(__m256i code) {
  const __m256i magnitude = _mm256_and_si256(code, _mm256_set1_epi32(0x7F));
  const __m256i bits =
      _mm256_or_si256(_mm256_slli_epi32(_mm256_and_si256(code, _mm256_set1_epi32(0x80)), 24),
                      _mm256_slli_epi32(magnitude, 20));
  const __m256 f = _mm256_mul_ps(_mm256_castsi256_ps(bits), _mm256_set1_ps(0x1p120f));
  const __m256 nan = _mm256_castsi256_ps(_mm256_cmpeq_epi32(magnitude, _mm256_set1_epi32(0x7F)));
  return _mm256_blendv_ps(f, _mm256_set1_ps(NAN), nan);
}

// E2M1 bias 1 against float's 127: 2^126.
CKD_AVX2 inline __m256 e2m1_to_float(__m256i nibble) {
  const __m256i bits =
      _mm256_or_si256(_mm256_slli_epi32(_mm256_and_si256(nibble, _mm256_set1_epi32(0x8)), 28),
                      _mm256_slli_epi32(_mm256_and_si256(nibble, _mm256_set1_epi32(0x7)), 22));
  return _mm256_mul_ps(_mm256_castsi256_ps(bits), _mm256_set1_ps(0x1p126f));
}

CKD_AVX2 void decode_e4m3_row_avx2(const unsigned char* codes, uint64_t cols, uint64_t block,
                                   const float* scales, float* out) {
  const std::array<float, 256>& table = f8_e4m3fn_table();
  for (uint64_t c0 = 0, j = 0; c0 < cols; c0 += block, ++j) {
    const uint64_t c1 = std::min(cols, c0 + block);
    const __m256 scale = _mm256_set1_ps(scales[j]);
    uint64_t c = c0;
    for (; c + 8 <= c1; c += 8) {
      __m256i code =
          _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(codes + c)));
      _mm256_storeu_ps(out + c, _mm256_mul_ps(e4m3_to_float(code), scale));
    }
    e4m3_tail(codes, c, c1, scales[j], out, table);
  }
}

CKD_AVX2 void decode_e2m1_row_avx2(const unsigned char* codes, uint64_t cols, uint64_t block,
                                   const float* scales, float* out) {
  const std::array<float, 16>& table = e2m1_table();
  const __m128i low = _mm_set1_epi8(0x0F);
  for (uint64_t c0 = 0, j = 0; c0 < cols; c0 += block, ++j) {
    const uint64_t c1 = std::min(cols, c0 + block);
    const __m256 scale = _mm256_set1_ps(scales[j]);
    uint64_t c = c0;
    for (; c + 16 <= c1; c += 16) {
      // 8 bytes -> 16 nibbles in element order (low nibble first), then 8 at a time.
      const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(codes + c / 2));
      const __m128i nibbles =
          _mm_unpacklo_epi8(_mm_and_si128(b, low), _mm_and_si128(_mm_srli_epi16(b, 4), low));
      _mm256_storeu_ps(out + c, _mm256_mul_ps(e2m1_to_float(_mm256_cvtepu8_epi32(nibbles)), scale));
      _mm256_storeu_ps(
          out + c + 8,
          _mm256_mul_ps(e2m1_to_float(_mm256_cvtepu8_epi32(_mm_srli_si128(nibbles, 8))), scale));
    }
    e2m1_tail(codes, c, c1, scales[j], out, table);
  }
}
#endif

}  // namespace

void use_avx2_decode(bool on) {
  avx2_decode = on && cpu_has_avx2();
}

uint64_t QuantizedMatrix::words_per_row() const {
  if (coding == ElementCoding::kIntDense || coding == ElementCoding::kMlxAffine)
    return (cols * static_cast<uint64_t>(bits) + 31) / 32;
  uint64_t per_word = 32 / static_cast<uint64_t>(bits);
  return (cols + per_word - 1) / per_word;
}

uint64_t QuantizedMatrix::code_bytes_per_row() const {
  switch (coding) {
    case ElementCoding::kGptqColumnPacked:  // a row's share of the words: whole per row_unit()
    case ElementCoding::kAwqInterleaved:
      return cols * static_cast<uint64_t>(bits) / 8;
    case ElementCoding::kAwqRowPacked:
      return 4 * words_per_row();
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
    case ElementCoding::kSparse24Bitmask:
      return cols / 2 * (dtype_bits(sparse_values) / 8);
    default:
      return cols;
  }
}

uint64_t QuantizedMatrix::row_unit() const {
  if (coding != ElementCoding::kGptqColumnPacked || bits <= 0) return 1;
  uint64_t b = static_cast<uint64_t>(bits), unit = 32;  // 32 / gcd(bits, 32)
  while (b % 2 == 0 && unit > 1) b /= 2, unit /= 2;
  return unit;
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
  if (is_unsigned_coding(m.coding)) return unsigned_zero_grid(m, zero_bytes);
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

void decode_sparse24_rows(const QuantizedMatrix& m, const std::vector<float>& scales,
                          std::string_view code_bytes, uint64_t first_row, uint64_t rows,
                          float* out) {
  // Each row's values fill its set mask bits in order, the clear ones are 0, then the scale of
  // the row (per channel) or of the tensor multiplies: W = value x s in float32 (the producer
  // scatters the FP8 codes, then dequantizes them; unquantized values have no scale, s = 1).
  const uint64_t mask_row = (m.cols + 7) / 8;
  const uint64_t row_bytes = m.code_bytes_per_row();
  const std::array<float, 256>& e4m3 = f8_e4m3fn_table();
  for (uint64_t i = 0; i < rows; ++i) {
    const uint64_t r = first_row + i;
    const unsigned char* mask = m.sparse_mask->data() + r * mask_row;
    const std::string_view values = code_bytes.substr(i * row_bytes, row_bytes);
    const auto* v = reinterpret_cast<const unsigned char*>(values.data());
    const float s = scales[(r / m.block_rows) * m.scale_cols];
    float* dst = out + i * m.cols;
    uint64_t k = 0;
    for (uint64_t c = 0; c < m.cols; ++c) {
      if (!((mask[c / 8] >> (c % 8)) & 1u)) {
        dst[c] = 0.0f;
        continue;
      }
      float x;
      switch (m.sparse_values) {
        case Dtype::kF8_E4M3:
          x = e4m3[v[k]];
          break;
        case Dtype::kBF16:
          x = decode_bf16(static_cast<uint16_t>(v[2 * k] | (v[2 * k + 1] << 8)));
          break;
        case Dtype::kF16:
          x = decode_f16(static_cast<uint16_t>(v[2 * k] | (v[2 * k + 1] << 8)));
          break;
        default:  // F32
          std::memcpy(&x, v + 4 * k, 4);
      }
      ++k;
      dst[c] = x * s;
    }
  }
}

std::vector<float> effective_scales(const QuantizedMatrix& m, std::string_view scale_bytes) {
  if (m.nested_absmax) return nested_absmax(m, scale_bytes);
  // U8 scales are E8M0 exponents (the MX formats store them so).
  const Dtype dtype = m.scale_dtype == Dtype::kU8 ? Dtype::kF8_E8M0 : m.scale_dtype;
  std::vector<float> out(m.scale_rows * m.scale_cols);
  const auto* bytes = reinterpret_cast<const unsigned char*>(scale_bytes.data());
  const std::array<float, 256>& e4m3 = f8_e4m3fn_table();
  for (uint64_t i = 0; i < out.size(); ++i) {
    // Exact: every scale dtype's values are floats. The common ones without the generic
    // decoder's double and optional (NVFP4 has a scale per 16 elements).
    float s;
    if (dtype == Dtype::kF8_E4M3) {
      s = e4m3[bytes[i]];
    } else if (dtype == Dtype::kF32) {
      std::memcpy(&s, bytes + 4 * i, 4);
    } else {
      s = static_cast<float>(*decode_element(dtype, scale_bytes, i));
    }
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
  if (is_unsigned_coding(m.coding))
    return decode_unsigned_rows(m, scales, zeros, code_bytes, first_row, rows, out);
  if (m.input_groups)
    return decode_rows_by_column_group(m, scales, zeros, code_bytes, first_row, rows, out);
  const auto* codes = reinterpret_cast<const unsigned char*>(code_bytes.data());
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
  if (m.coding == ElementCoding::kSparse24Bitmask)
    return decode_sparse24_rows(m, scales, code_bytes, first_row, rows, out);
  for (uint64_t i = 0; i < rows; ++i) {
    const uint64_t r = first_row + i;
    const uint64_t grid_row = (r / m.block_rows) * m.scale_cols;
    const float* scale_row = scales.data() + grid_row;
    const float* zero_row = zeros.empty() ? nullptr : zeros.data() + grid_row;
    const unsigned char* row = codes + i * row_bytes;
    float* dst = out + i * m.cols;
    if (m.coding == ElementCoding::kF8E4M3 || m.coding == ElementCoding::kE2M1Packed) {
      const bool fp8 = m.coding == ElementCoding::kF8E4M3;
      RowDecoder decode = fp8 ? decode_e4m3_row_portable : decode_e2m1_row_portable;
#if CKD_HAVE_AVX2_KERNELS
      if (avx2_decode) decode = fp8 ? decode_e4m3_row_avx2 : decode_e2m1_row_avx2;
#endif
      decode(row, m.cols, m.block_cols, scale_row, dst);
      continue;
    }
    // Block by block: one scale load per block, no division per element.
    for (uint64_t c0 = 0, j = 0; c0 < m.cols; c0 += m.block_cols, ++j) {
      const uint64_t c1 = std::min(m.cols, c0 + m.block_cols);
      const float s = scale_row[j];
      switch (m.coding) {
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

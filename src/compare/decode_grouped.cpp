// Decoding of the integer codings that do not fit decode_rows()'s contiguous blocks: GPTQ and
// AWQ's unsigned codes (W = (q - z) x s with z the stored zero, plus one for GPTQ v1), and the
// activation-ordered groups of a g_idx. Shapes and sizes were checked by the format's decoder
// file (formats/gptq.cpp, formats/awq.cpp, formats/int.cpp); products are exact in float32
// (|q - z| < 2^9, an F16/BF16 scale has 11 significant bits), as for the other formats.
#include <algorithm>
#include <cstring>

#include "compare/quantized_matrix.h"
#include "numerics/vector_clones.h"

namespace ckd {

namespace {

uint32_t load_word(const unsigned char* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);  // little-endian files on a little-endian host, as everywhere here
  return w;
}

// AWQ GEMM packs columns 8j + AWQ_ORDER[i] into nibble i of word j, AWQ_ORDER = [0, 2, 4, 6, 1,
// 3, 5, 7] (AutoAWQ awq/modules/linear/gemm.py WQLinear_GEMM.from_linear, order_map; unpacked by
// awq/utils/packing_utils.py with AWQ_REVERSE_ORDER). Column 8j + c is therefore at the bit
// offset below.
constexpr uint32_t kAwqShift[8] = {0, 16, 4, 20, 8, 24, 12, 28};

uint64_t grid_row(const QuantizedMatrix& m, uint64_t r) {
  return m.input_groups ? (*m.input_groups)[r] : r / m.block_rows;
}

// Eight lanes as GCC vector extensions, built for AVX2 and for plain x86-64 (vector_clones.h):
// the same operations in the same order as one element at a time, so the floats are the same.
using U32x8 = uint32_t __attribute__((vector_size(32)));
using I32x8 = int32_t __attribute__((vector_size(32)));
using F32x8 = float __attribute__((vector_size(32)));

// (q - z) * s for eight codes q < 2^9 (exact as int32 and as float); z and s are eight floats
// or one for all lanes (GCC widens a scalar operand). A macro: a function returning a 32-byte
// vector would have a different ABI in the AVX2 and the plain clones.
#define CKD_DEQUANTIZE8(q, z, s) ((__builtin_convertvector((I32x8)(q), F32x8) - (z)) * (s))

// dst[n] = ((word n >> shift) & mask - z[n]) * s[n] for the n words of a GPTQ word row.
CKD_VECTOR_CLONES
void decode_word_column(const unsigned char* words, uint32_t shift, uint32_t mask,
                        const float* z, const float* s, uint64_t n, float* dst) {
  uint64_t c = 0;
  for (; c + 8 <= n; c += 8) {
    U32x8 w;
    F32x8 z8, s8;
    std::memcpy(&w, words + 4 * c, sizeof w);
    std::memcpy(&z8, z + c, sizeof z8);
    std::memcpy(&s8, s + c, sizeof s8);
    const F32x8 v = CKD_DEQUANTIZE8((w >> shift) & mask, z8, s8);
    std::memcpy(dst + c, &v, sizeof v);
  }
  for (; c < n; ++c)
    dst[c] = (static_cast<float>((load_word(words + 4 * c) >> shift) & mask) - z[c]) * s[c];
}

// AWQ GEMM: the eight columns of each word, in the interleaved order below.
CKD_VECTOR_CLONES
void decode_awq_words(const unsigned char* row, const float* z, const float* s, uint64_t words,
                      float* dst);

// GPTQ, [in, out] rows: row k's values sit at bit k*bits down each column's word stream
// (GPTQModel nn_modules/qlinear/__init__.py pack_block / dequantize_weight, 3-bit values
// straddling words 10 and 21 of every 32).
void decode_gptq(const QuantizedMatrix& m, const float* scales, const float* zeros,
                 const unsigned char* codes, uint64_t first_row, uint64_t rows, float* out) {
  const uint64_t cols = m.cols, word_row = 4 * cols;
  const auto bits = static_cast<uint32_t>(m.bits);
  const uint32_t mask = (1u << bits) - 1;
  for (uint64_t i = 0; i < rows; ++i) {
    const uint64_t bit = i * bits, g = grid_row(m, first_row + i);
    const auto shift = static_cast<uint32_t>(bit % 32);
    const unsigned char* lo = codes + (bit / 32) * word_row;
    const float* s = scales + g * cols;
    const float* z = zeros + g * cols;
    float* dst = out + i * cols;
    if (shift + bits <= 32) {
      decode_word_column(lo, shift, mask, z, s, cols, dst);
    } else {  // the value continues in the next word of the column
      const unsigned char* hi = lo + word_row;
      for (uint64_t n = 0; n < cols; ++n) {
        uint32_t q =
            ((load_word(lo + 4 * n) >> shift) | (load_word(hi + 4 * n) << (32 - shift))) & mask;
        dst[n] = (static_cast<float>(q) - z[n]) * s[n];
      }
    }
  }
}

void decode_awq_words(const unsigned char* row, const float* z, const float* s, uint64_t words,
                      float* dst) {
  const U32x8 shifts = {kAwqShift[0], kAwqShift[1], kAwqShift[2], kAwqShift[3],
                        kAwqShift[4], kAwqShift[5], kAwqShift[6], kAwqShift[7]};
  for (uint64_t j = 0; j < words; ++j) {
    const uint32_t word = load_word(row + 4 * j);
    F32x8 z8, s8;
    std::memcpy(&z8, z + 8 * j, sizeof z8);
    std::memcpy(&s8, s + 8 * j, sizeof s8);
    const F32x8 v = CKD_DEQUANTIZE8((word >> shifts) & 0xF, z8, s8);
    std::memcpy(dst + 8 * j, &v, sizeof v);
  }
}

// AWQ GEMM, [in, out] rows of out/8 words with the interleaved nibble order.
void decode_awq_gemm(const QuantizedMatrix& m, const float* scales, const float* zeros,
                     const unsigned char* codes, uint64_t first_row, uint64_t rows, float* out) {
  const uint64_t cols = m.cols, row_bytes = m.code_bytes_per_row();
  for (uint64_t i = 0; i < rows; ++i) {
    const uint64_t g = grid_row(m, first_row + i);
    const unsigned char* row = codes + i * row_bytes;
    const float* s = scales + g * cols;
    const float* z = zeros + g * cols;
    float* dst = out + i * cols;
    decode_awq_words(row, z, s, cols / 8, dst);
  }
}

// AWQ GEMV, [out, in] rows of in/8 words, element c in nibble c % 8 of word c / 8 (AutoAWQ
// gemv.py, order_map 0..7); scale and zero rows are padded past the row's groups.
void decode_awq_gemv(const QuantizedMatrix& m, const float* scales, const float* zeros,
                     const unsigned char* codes, uint64_t first_row, uint64_t rows, float* out) {
  const uint64_t cols = m.cols, row_bytes = m.code_bytes_per_row();
  for (uint64_t i = 0; i < rows; ++i) {
    const uint64_t r = first_row + i;
    const unsigned char* row = codes + i * row_bytes;
    const float* s = scales + r * m.scale_cols;
    const float* z = zeros + r * m.scale_cols;
    float* dst = out + i * cols;
    for (uint64_t c0 = 0, j = 0; c0 < cols; c0 += m.block_cols, ++j) {
      const uint64_t c1 = std::min(cols, c0 + m.block_cols);
      for (uint64_t c = c0; c < c1; ++c) {
        uint32_t q = (load_word(row + 4 * (c / 8)) >> (4 * (c % 8))) & 0xF;
        dst[c] = (static_cast<float>(q) - z[j]) * s[j];
      }
    }
  }
}

// GPTQ words of one word row (columns c0..c0+width of rows i0..i0+8, 4 bits), each word's
// eight values as eight consecutive floats of its column's output row.
CKD_VECTOR_CLONES
void gptq4_word_row(const unsigned char* words, uint64_t width, const float* z, const float* s,
                    float* out, uint64_t stride) {
  const U32x8 shifts = {0, 4, 8, 12, 16, 20, 24, 28};
  for (uint64_t c = 0; c < width; ++c) {
    const F32x8 v = CKD_DEQUANTIZE8((load_word(words + 4 * c) >> shifts) & 0xF, z[c], s[c]);
    std::memcpy(out + c * stride, &v, sizeof v);
  }
}

// AWQ GEMM rows r..r+8 of one word column (8 output columns) that share a group: the eight
// rows' words side by side, so each column's eight values are one vector of its output row.
CKD_VECTOR_CLONES
void awq_word_column(const unsigned char* word, uint64_t row_bytes, const float* z,
                     const float* s, float* out, uint64_t stride) {
  const U32x8 words = {load_word(word),                 load_word(word + row_bytes),
                       load_word(word + 2 * row_bytes), load_word(word + 3 * row_bytes),
                       load_word(word + 4 * row_bytes), load_word(word + 5 * row_bytes),
                       load_word(word + 6 * row_bytes), load_word(word + 7 * row_bytes)};
  for (uint64_t c = 0; c < 8; ++c) {
    const F32x8 v = CKD_DEQUANTIZE8((words >> kAwqShift[c]) & 0xF, z[c], s[c]);
    std::memcpy(out + c * stride, &v, sizeof v);
  }
}

}  // namespace

bool decodes_column_blocks(const QuantizedMatrix& m) {
  if (m.input_groups || m.experts != 1 || m.block_rows == 0) return false;
  if (m.coding == ElementCoding::kGptqColumnPacked)
    return (m.bits == 2 || m.bits == 4 || m.bits == 8) && m.rows % (32 / m.bits) == 0;
  return m.coding == ElementCoding::kAwqInterleaved && m.bits == 4 && m.cols % 8 == 0;
}

void decode_column_block(const QuantizedMatrix& m, const std::vector<float>& scales,
                         const std::vector<float>& zeros, std::string_view code_bytes,
                         uint64_t c0, uint64_t width, float* out, uint64_t stride) {
  const auto* codes = reinterpret_cast<const unsigned char*>(code_bytes.data());
  const uint64_t cols = m.cols;
  if (m.coding == ElementCoding::kAwqInterleaved) {
    // Word j of row r holds columns 8j..8j+7 (kAwqShift); rows lie a row of words apart.
    const uint64_t row_bytes = m.code_bytes_per_row();
    for (uint64_t r = 0; r < m.rows; r += 8) {
      constexpr uint64_t kAhead = 16;  // rows ahead: too far apart for the hardware prefetcher
      for (uint64_t k = 0; k < 8 && r + kAhead + k < m.rows; ++k)
        __builtin_prefetch(codes + (r + kAhead + k) * row_bytes + 4 * (c0 / 8));
      const bool one_group = r + 8 <= m.rows && r / m.block_rows == (r + 7) / m.block_rows;
      for (uint64_t c = 0; c < width; c += 8) {
        const unsigned char* word = codes + r * row_bytes + 4 * ((c0 + c) / 8);
        if (one_group) {
          const uint64_t g = (r / m.block_rows) * cols + c0 + c;
          awq_word_column(word, row_bytes, zeros.data() + g, scales.data() + g,
                          out + c * stride + r, stride);
          continue;
        }
        for (uint64_t i = r; i < std::min(r + 8, m.rows); ++i) {
          const uint32_t w = load_word(codes + i * row_bytes + 4 * ((c0 + c) / 8));
          for (uint64_t k = 0; k < 8; ++k) {
            const uint64_t g = (i / m.block_rows) * cols + c0 + c + k;
            out[(c + k) * stride + i] =
                (static_cast<float>((w >> kAwqShift[k]) & 0xF) - zeros[g]) * scales[g];
          }
        }
      }
    }
    return;
  }
  // GPTQ: word row w holds rows w*per .. w*per+per-1 of every column, at bits k*bits.
  const auto bits = static_cast<uint32_t>(m.bits);
  const uint64_t per = 32 / bits, word_row = 4 * cols;
  const uint32_t mask = (1u << bits) - 1;
  for (uint64_t w = 0; w < m.rows / per; ++w) {
    const uint64_t r0 = w * per;
    const unsigned char* words = codes + w * word_row + 4 * c0;
    // Word rows lie a row of the matrix apart: too far for the hardware prefetcher.
    constexpr uint64_t kAhead = 8;
    if (w + kAhead < m.rows / per) {
      for (uint64_t b = 0; b < 4 * width; b += 64) __builtin_prefetch(words + kAhead * word_row + b);
    }
    if (per == 8 && r0 / m.block_rows == (r0 + 7) / m.block_rows) {  // one group: eight lanes
      const uint64_t g = (r0 / m.block_rows) * cols + c0;
      gptq4_word_row(words, width, zeros.data() + g, scales.data() + g, out + r0, stride);
      continue;
    }
    for (uint64_t c = 0; c < width; ++c) {
      const uint32_t word = load_word(words + 4 * c);
      for (uint64_t k = 0; k < per; ++k) {
        const uint64_t g = ((r0 + k) / m.block_rows) * cols + c0 + c;
        const uint32_t q = (word >> (k * bits)) & mask;
        out[c * stride + r0 + k] = (static_cast<float>(q) - zeros[g]) * scales[g];
      }
    }
  }
}

bool is_unsigned_coding(ElementCoding c) {
  return c == ElementCoding::kGptqColumnPacked || c == ElementCoding::kAwqInterleaved ||
         c == ElementCoding::kAwqRowPacked;
}

std::vector<float> unsigned_zero_grid(const QuantizedMatrix& m, std::string_view zero_bytes) {
  std::vector<float> out(m.scale_rows * m.scale_cols, 0.0f);
  if (!m.zero_points) return out;
  const auto* p = reinterpret_cast<const unsigned char*>(zero_bytes.data());
  const auto offset = static_cast<float>(m.zero_offset);
  const uint64_t rows = m.scale_rows, cols = m.scale_cols;
  switch (m.coding) {
    case ElementCoding::kGptqColumnPacked: {
      // qzeros [groups, out*bits/32]: value n at bit n*bits of the row's words, like the
      // dense compressed-tensors packing (GPTQModel pack_block's qzeros loop).
      const uint64_t row_bytes = cols * static_cast<uint64_t>(m.bits) / 8;
      for (uint64_t r = 0; r < rows; ++r) {
        for (uint64_t n = 0; n < cols; ++n) {
          out[r * cols + n] =
              static_cast<float>(unpack_bits(p + r * row_bytes, n, m.bits, true)) + offset;
        }
      }
      break;
    }
    case ElementCoding::kAwqInterleaved:  // qzeros [groups, out/8], the weight's nibble order
      for (uint64_t r = 0; r < rows; ++r) {
        for (uint64_t n = 0; n < cols; ++n) {
          uint32_t word = load_word(p + 4 * (r * (cols / 8) + n / 8));
          out[r * cols + n] = static_cast<float>((word >> kAwqShift[n % 8]) & 0xF) + offset;
        }
      }
      break;
    default:  // AWQ GEMV qzeros [out, width]: group j of row r in nibble j % 8 of word j / 8
      for (uint64_t r = 0; r < rows; ++r) {
        for (uint64_t j = 0; j < cols; ++j) {
          uint32_t word = load_word(p + 4 * (r * (cols / 8) + j / 8));
          out[r * cols + j] = static_cast<float>((word >> (4 * (j % 8))) & 0xF) + offset;
        }
      }
  }
  return out;
}

void decode_unsigned_rows(const QuantizedMatrix& m, const std::vector<float>& scales,
                          const std::vector<float>& zeros, std::string_view code_bytes,
                          uint64_t first_row, uint64_t rows, float* out) {
  const auto* codes = reinterpret_cast<const unsigned char*>(code_bytes.data());
  switch (m.coding) {
    case ElementCoding::kGptqColumnPacked:
      return decode_gptq(m, scales.data(), zeros.data(), codes, first_row, rows, out);
    case ElementCoding::kAwqInterleaved:
      return decode_awq_gemm(m, scales.data(), zeros.data(), codes, first_row, rows, out);
    default:
      return decode_awq_gemv(m, scales.data(), zeros.data(), codes, first_row, rows, out);
  }
}

void decode_rows_by_column_group(const QuantizedMatrix& m, const std::vector<float>& scales,
                                 const std::vector<float>& zeros, std::string_view code_bytes,
                                 uint64_t first_row, uint64_t rows, float* out) {
  const auto* codes = reinterpret_cast<const unsigned char*>(code_bytes.data());
  const uint64_t row_bytes = m.code_bytes_per_row();
  const bool dense = m.coding == ElementCoding::kIntDense;
  const int32_t offset = 1 << (m.bits - 1);
  const std::vector<uint32_t>& group = *m.input_groups;
  for (uint64_t i = 0; i < rows; ++i) {
    const uint64_t grid = ((first_row + i) / m.block_rows) * m.scale_cols;
    const float* s = scales.data() + grid;
    const float* z = zeros.data() + grid;
    const unsigned char* row = codes + i * row_bytes;
    float* dst = out + i * m.cols;
    for (uint64_t c = 0; c < m.cols; ++c) {
      const int32_t q = m.coding == ElementCoding::kInt8
                            ? static_cast<int8_t>(row[c])
                            : static_cast<int32_t>(unpack_bits(row, c, m.bits, dense)) - offset;
      dst[c] = (static_cast<float>(q) - z[group[c]]) * s[group[c]];
    }
  }
}

}  // namespace ckd

// The one definition of dequantization for the block-scaled formats (FORMATS.md §11): every
// element is decode(code[r, c]) x effective_scale[r / block_rows, c / block_cols], where the
// effective scale is the stored scale combined with the tensor's global scale, all in float32 as
// the producers compute it. The formats (formats/*.cpp) only say how a module's tensors map onto
// this description.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "compare/fake_quant.h"
#include "numerics/element_coding.h"
#include "numerics/formats.h"  // GlobalScaleOp
#include "safetensors/dtype.h"

namespace ckd {

struct TensorRef;

struct QuantizedMatrix {
  std::string format;  // "fp8-block", "nvfp4", ... (the roundtrip-error thresholds' keys)
  ElementCoding coding = ElementCoding::kF8E4M3;
  uint64_t rows = 0, cols = 0;  // logical [out, in]; a fused expert tensor stacks its experts' rows
  uint64_t experts = 1;         // rows / experts rows each (gpt-oss [E, out, in/32, 16] blocks)
  const TensorRef* codes = nullptr;
  const TensorRef* scales = nullptr;
  Dtype scale_dtype = Dtype::kF32;          // F32, BF16, F16, F8_E4M3, or U8 holding E8M0 exponents
  uint64_t block_rows = 1, block_cols = 1;  // elements covered by one scale
  uint64_t scale_rows = 1, scale_cols = 1;  // the scale grid
  GlobalScaleOp global_op = GlobalScaleOp::kNone;
  float global = 1.0f;
  int bits = 8;  // integer codings
  // Asymmetric integers: W = (q - z) x s, z on the scale grid. I8 for naive int, I32 packed
  // along dim 0 (the codes' packing, transposed) for pack-quantized.
  const TensorRef* zero_points = nullptr;
  FakeQuant fake;  // kDenseFloat: the quantization the sidecars describe
  // GPTQ / AWQ GEMM store the transpose of the weight, [in, out]: the matrix is decoded in that
  // orientation (rows are input channels) and paired with the transposed source.
  bool input_major = false;
  // g_idx (GPTQ desc_act, compressed-tensors actorder group): the scale-grid index of each input
  // channel (rows when input_major, columns otherwise). Null: contiguous groups of block_rows /
  // block_cols. Read and range-checked by the format's decoder file.
  std::shared_ptr<const std::vector<uint32_t>> input_groups;
  // GPTQ / AWQ unsigned codes: W = (q - (stored zero + zero_offset)) x s (GPTQ v1 stores zero - 1).
  int zero_offset = 0;

  // Rows come in whole units of this many (GPTQ: the rows whose values fill whole int32 words
  // down a column); chunks start on a unit.
  uint64_t row_unit() const;
  // bitsandbytes double quantization: `scales` holds U8 codes of the absmax, which decode as
  // nested_code[a] * nested_absmax[i / nested_blocksize] + nested_offset (float32).
  const TensorRef* nested_absmax = nullptr;
  const TensorRef* nested_code = nullptr;
  uint64_t nested_blocksize = 0;
  float nested_offset = 0;

  // kSparse24Bitmask: the kept values' dtype (F8_E4M3, BF16, F16 or F32) and the module's whole
  // bitmask, rows * ceil(cols/8) bytes, read and checked (two of every four) by its decoder file.
  Dtype sparse_values = Dtype::kBF16;
  std::shared_ptr<const std::vector<unsigned char>> sparse_mask;

  uint64_t words_per_row() const;  // the packed integer codings
  uint64_t code_bytes_per_row() const;
};

// Element i of a packed bit stream (the integer codings' layouts), as the unsigned value.
uint32_t unpack_bits(const unsigned char* words, uint64_t i, int bits, bool dense);

// The effective scales, decoded once: [scale_rows, scale_cols] float32.
std::vector<float> effective_scales(const QuantizedMatrix& m, std::string_view scale_bytes);

// The zero points on the scale grid, or all zeros when the format is symmetric.
std::vector<float> zero_point_grid(const QuantizedMatrix& m, std::string_view zero_bytes);

// Tests: false makes decode_rows() use the portable loops even where the CPU has AVX2 (both
// paths must give the same floats).
void use_avx2_decode(bool on);
// The unsigned GPTQ / AWQ codings (decode_unsigned.cpp): rows [first_row, first_row + rows)
// from code bytes that start at first_row (a multiple of row_unit()).
void decode_unsigned_rows(const QuantizedMatrix& m, const std::vector<float>& scales,
                          const std::vector<float>& zeros, std::string_view code_bytes,
                          uint64_t first_row, uint64_t rows, float* out);
// GPTQ (2, 4 or 8 bits) and AWQ GEMM without a g_idx, which store [in, out]: whether
// decode_column_block serves them (the other transposed codings are decoded by rows).
bool decodes_column_blocks(const QuantizedMatrix& m);
// Columns [c0, c0 + width) of such a matrix, every row, in the source's orientation:
// out[(c - c0) * stride + r] is element (r, c). `code_bytes` holds the whole matrix; c0 and
// width are multiples of 8 but for the last block's width. The same floats as decode_rows.
void decode_column_block(const QuantizedMatrix& m, const std::vector<float>& scales,
                         const std::vector<float>& zeros, std::string_view code_bytes,
                         uint64_t c0, uint64_t width, float* out, uint64_t stride);
// Their zero points on the scale grid: the stored values plus zero_offset.
std::vector<float> unsigned_zero_grid(const QuantizedMatrix& m, std::string_view zero_bytes);
bool is_unsigned_coding(ElementCoding c);
// The signed integer codings with a g_idx (compressed-tensors actorder group): element (r, c)
// uses scale column input_groups[c].
void decode_rows_by_column_group(const QuantizedMatrix& m, const std::vector<float>& scales,
                                 const std::vector<float>& zeros, std::string_view code_bytes,
                                 uint64_t first_row, uint64_t rows, float* out);

// sparse-24-bitmask (kSparse24Bitmask): rows from their kept values and m.sparse_mask.
void decode_sparse24_rows(const QuantizedMatrix& m, const std::vector<float>& scales,
                          std::string_view code_bytes, uint64_t first_row, uint64_t rows,
                          float* out);

// Decodes rows [first_row, first_row + rows) from their code bytes into out[rows * m.cols].
// `zeros` may be empty for the float codings (E4M3, packed E2M1), which never read it.
void decode_rows(const QuantizedMatrix& m, const std::vector<float>& scales,
                 const std::vector<float>& zeros, std::string_view code_bytes, uint64_t first_row,
                 uint64_t rows, float* out);

}  // namespace ckd

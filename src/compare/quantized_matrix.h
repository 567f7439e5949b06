// The one definition of dequantization for the block-scaled formats (FORMATS.md §11): every
// element is decode(code[r, c]) x effective_scale[r / block_rows, c / block_cols], where the
// effective scale is the stored scale combined with the tensor's global scale, all in float32 as
// the producers compute it. The formats (formats/*.cpp) only say how a module's tensors map onto
// this description.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "safetensors/dtype.h"

namespace ckd {

struct TensorRef;

enum class ElementCoding {
  kF8E4M3,      // one byte per element
  kE2M1Packed,  // two per byte, element 2k in the low nibble
};

enum class GlobalScaleOp {
  kNone,
  kMultiply,  // modelopt weight_scale_2: scale x global
  kDivide,    // compressed-tensors weight_global_scale: scale / global
};

struct QuantizedMatrix {
  std::string format;  // "fp8-block", "nvfp4", ... (the roundtrip-error thresholds' keys)
  ElementCoding coding = ElementCoding::kF8E4M3;
  uint64_t rows = 0, cols = 0;  // logical [out, in]
  const TensorRef* codes = nullptr;
  const TensorRef* scales = nullptr;
  Dtype scale_dtype = Dtype::kF32;          // F32, BF16, F16, F8_E4M3, or U8 holding E8M0 exponents
  uint64_t block_rows = 1, block_cols = 1;  // elements covered by one scale
  uint64_t scale_rows = 1, scale_cols = 1;  // the scale grid
  GlobalScaleOp global_op = GlobalScaleOp::kNone;
  float global = 1.0f;

  uint64_t code_bytes_per_row() const {
    return coding == ElementCoding::kE2M1Packed ? cols / 2 : cols;
  }
};

// The effective scales, decoded once: [scale_rows, scale_cols] float32.
std::vector<float> effective_scales(const QuantizedMatrix& m, std::string_view scale_bytes);

// Decodes rows [first_row, first_row + rows) from their code bytes into out[rows * m.cols].
void decode_rows(const QuantizedMatrix& m, const std::vector<float>& scales,
                 std::string_view code_bytes, uint64_t first_row, uint64_t rows, float* out);

}  // namespace ckd

// How a quantized module's tensors map onto a QuantizedMatrix: one file per format family in
// formats/, sharing the scale-grid inference below.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compare/quantized_matrix.h"

namespace ckd {

class Checkpoint;
struct Module;
struct QuantGroup;

struct Layout {
  std::optional<QuantizedMatrix> matrix;
  std::string problem;  // why the module cannot be decoded (when matrix is empty)
};

// The decoding of `module` per its declared group, or why there is none.
Layout describe_module(const Checkpoint& ck, const Module& module);

// One per format family (formats/*.cpp).
Layout describe_fp8(const Module& module, const QuantGroup& group);    // FP8 + MXFP8
Layout describe_nvfp4(const Module& module, const QuantGroup& group);  // CT and modelopt
Layout describe_mxfp4(const Module& module, const QuantGroup& group);  // compressed-tensors
Layout describe_int(const Module& module, const QuantGroup& group);    // naive and packed ints

// Fits the scale tensor's shape to [rows, cols] as a grid of blocks: [] / [1] per tensor,
// [rows] / [rows, 1] per row, [a, b] blocks, modelopt's [a, 1, b, 1]. Block sizes come from the
// declaration when it gives them and agrees with the shape. Returns a problem, or "" when m's
// scale_rows/cols and block_rows/cols are set.
std::string fit_scale_grid(QuantizedMatrix& m, const std::vector<uint64_t>& scale_shape,
                           uint64_t declared_block_rows, uint64_t declared_block_cols);

// fit_scale_grid for packed FP4 (blocks of `group` along the row), which also needs even blocks
// so that no byte straddles two.
std::string fit_packed_fp4_grid(QuantizedMatrix& m, const std::vector<uint64_t>& scale_shape,
                                uint64_t group);

}  // namespace ckd

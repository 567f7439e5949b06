// How a quantized module's tensors map onto a QuantizedMatrix: one file per format family in
// formats/, sharing the scale-grid inference below.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compare/quantized_matrix.h"
#include "safetensors/shape.h"

namespace ckd {

struct Module;
struct ModuleParam;
struct QuantGroup;
struct TensorRef;

// The bytes of one tensor, read through the shard that holds it. Every tensor of a module (weight,
// scales, zero points, global scale, weight_shape) may sit in its own file; reading one through
// another's shard gives the bytes at the same offset of the wrong file.
std::string_view ref_bytes(const TensorRef& ref);

struct Layout {
  std::optional<QuantizedMatrix> matrix;
  std::string problem;  // why the module cannot be decoded (when matrix is empty)
};

// The decoding of `module` per its declared group, or why there is none.
Layout describe_module(const Module& module);

// One per format family (formats/*.cpp).
Layout describe_fp8(const Module& module, const QuantGroup& group);    // FP8 + MXFP8
Layout describe_nvfp4(const Module& module, const QuantGroup& group);  // CT and modelopt
Layout describe_mxfp4(const Module& module, const QuantGroup& group);  // compressed-tensors
Layout describe_int(const Module& module, const QuantGroup& group);    // naive and packed ints
Layout describe_gptq(const Module& module, const QuantGroup& group);  // GPTQ, auto-round gptq
Layout describe_awq(const Module& module, const QuantGroup& group);   // AWQ GEMM and GEMV
Layout describe_bnb(const Module& module, const QuantGroup& group);  // bitsandbytes 4/8-bit
Layout describe_mlx(const Module& module, const QuantGroup& group);  // MLX affine
Layout describe_sparse24(const Module& module, const QuantGroup& group);  // sparse-24-bitmask
// compressed-tensors "dense": float weights fake-quantized by their sidecars (group.dense_of).
Layout describe_dense(const Module& module, const QuantGroup& group);

// Fits the scale tensor's shape to [rows, cols] as a grid of blocks: [] / [1] per tensor,
// [rows] / [rows, 1] per row, [a, b] blocks, modelopt's [a, 1, b, 1]. Block sizes come from the
// declaration when it gives them and agrees with the shape. Returns a problem, or "" when m's
// scale_rows/cols and block_rows/cols are set.
std::string fit_scale_grid(QuantizedMatrix& m, const Shape& scale_shape,
                           uint64_t declared_block_rows, uint64_t declared_block_cols);

// Reads a g_idx (I32 [in], each value in [0, groups)) into m.input_groups; leaves it null when
// the index is the contiguous one (i / group_size, or all 0 for one group), which the block
// grid already describes. Returns a problem, or "".
std::string read_input_groups(QuantizedMatrix& m, const ModuleParam& g_idx, uint64_t in,
                              uint64_t groups, uint64_t group_size);

// The part the packed-FP4 formats share: U8 [out, in/2] codes, element 2k in the low nibble,
// and `scale` as blocks of `group` elements along each row (even-sized, so no byte straddles
// two). The format adds its scale dtype and global scale.
Layout packed_fp4_layout(const char* format, const ModuleParam& weight, const ModuleParam& scale,
                         uint64_t group);

}  // namespace ckd

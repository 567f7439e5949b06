// MLX affine (mlx/ops.cpp quantize / dequantize; mlx/nn/layers/quantized.py QuantizedLinear):
// U32 [out, in*bits/32] with each row one little-endian bit stream of `bits`-bit unsigned values
// (2, 3, 4, 5, 6, 8 bits; 3/5/6 straddle words), scales and biases [out, in/group_size] in the
// model's float dtype; W = q * scale + bias in float32 (what mx.dequantize computes from float32
// scales and biases).
#include <fmt/format.h>

#include "checkpoint/checkpoint.h"
#include "compare/layout.h"

namespace ckd {

namespace {

bool float_tensor(const TensorInfo& t) {
  return t.dtype == Dtype::kF32 || t.dtype == Dtype::kBF16 || t.dtype == Dtype::kF16;
}

}  // namespace

Layout describe_mlx(const Module& module, const QuantGroup& group) {
  const ModuleParam* w = module.weight();
  const ModuleParam* s = module.param("scales");
  const ModuleParam* b = module.param("biases");
  if (!w || !s || !b) return {std::nullopt, "no weight, scales or biases"};
  const TensorInfo& wi = *w->ref->info;
  const TensorInfo& si = *s->ref->info;
  const TensorInfo& bi = *b->ref->info;
  if (wi.dtype != Dtype::kU32 || wi.shape.size() != 2)
    return {std::nullopt, "the weight is not a 2-D U32 tensor"};
  if (group.bits < 2 || group.bits > 8)
    return {std::nullopt, fmt::format("{}-bit packing is not read", group.bits)};
  if (!float_tensor(si) || !float_tensor(bi) || si.shape != bi.shape || !bi.readable)
    return {std::nullopt, "scales and biases are not float tensors of one shape"};
  const auto bits = static_cast<uint64_t>(group.bits);
  if ((wi.shape[1] * 32) % bits != 0)
    return {std::nullopt, fmt::format("{} words per row are not a whole number of {}-bit values",
                                      wi.shape[1], bits)};
  QuantizedMatrix m;
  m.coding = ElementCoding::kMlxAffine;
  m.bits = group.bits;
  m.rows = wi.shape[0];
  m.cols = wi.shape[1] * 32 / bits;
  m.codes = w->ref;
  m.scales = s->ref;
  m.scale_dtype = *si.dtype;
  m.zero_points = b->ref;
  if (std::string problem = fit_scale_grid(m, si.shape, 1, group.group_size); !problem.empty())
    return {std::nullopt, problem};
  if (m.block_rows != 1 || m.block_cols != group.group_size)
    return {std::nullopt,
            fmt::format("scales {} do not hold one value per {} elements of a row",
                        si.shape.size() == 2 ? fmt::format("[{}, {}]", si.shape[0], si.shape[1])
                                             : std::string("(not 2-D)"),
                        group.group_size)};
  return {m, ""};
}

}  // namespace ckd

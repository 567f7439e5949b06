// AWQ (AutoAWQ; auto-round packing_format auto_awq), 4-bit with zero points, W = (q - z) x s:
// - GEMM (AutoAWQ awq/modules/linear/gemm.py WQLinear_GEMM.from_linear): int32 qweight
//   [in, out/8], columns 8j + [0, 2, 4, 6, 1, 3, 5, 7] in nibbles 0..7 of word j; qzeros
//   [in/g, out/8] in the same order; F16 scales [in/g, out]. Decoded as stored, [in, out], as
//   awq/utils/packing_utils.py dequantize_gemm does (and vLLM's awq_dequantize).
// - GEMV (awq/modules/linear/gemv.py WQLinear_GEMV.from_linear): qweight [out, in/8] in plain
//   nibble order, qzeros [out, width] and scales [out, width*8] with width =
//   calculate_zeros_width(in, g): the row's groups padded to whole words and the kernel's split.
// AutoAWQ stores the zero itself (no GPTQ v1 offset) and always writes qzeros.
#include <fmt/format.h>

#include "checkpoint/checkpoint.h"
#include "compare/layout.h"

namespace ckd {

namespace {

bool half_scale(const TensorInfo& t) {
  return t.dtype == Dtype::kF16 || t.dtype == Dtype::kBF16;
}

Layout describe_gemm(const TensorInfo& wi, const TensorInfo& si, const TensorInfo& zi,
                     uint64_t group_size) {
  const uint64_t in = wi.shape[0], out = wi.shape[1] * 8;
  group_size = group_size && group_size < in ? group_size : 0;
  const uint64_t groups = group_size ? (in + group_size - 1) / group_size : 1;
  if (!half_scale(si) || si.shape != std::vector<uint64_t>{groups, out})
    return {std::nullopt, fmt::format("scales is not F16/BF16 [{}, {}]", groups, out)};
  if (zi.shape != std::vector<uint64_t>{groups, out / 8})
    return {std::nullopt, fmt::format("qzeros is not I32 [{}, {}]", groups, out / 8)};
  QuantizedMatrix m;
  m.coding = ElementCoding::kAwqInterleaved;
  m.input_major = true;
  m.rows = in;
  m.cols = out;
  m.scale_rows = groups;
  m.scale_cols = out;
  m.block_rows = group_size ? group_size : in;
  m.block_cols = 1;
  return {m, ""};
}

Layout describe_gemv(const TensorInfo& wi, const TensorInfo& si, const TensorInfo& zi,
                     uint64_t group_size) {
  const uint64_t out = wi.shape[0], in = wi.shape[1] * 8;
  if (group_size == 0 || group_size > in) group_size = in;
  const uint64_t groups = (in + group_size - 1) / group_size;
  if (zi.shape.size() != 2 || zi.shape[0] != out || zi.shape[1] * 8 < groups)
    return {std::nullopt, fmt::format("qzeros is not I32 [{}, >= {} groups / 8]", out, groups)};
  const uint64_t width = zi.shape[1];
  if (!half_scale(si) || si.shape != std::vector<uint64_t>{out, width * 8})
    return {std::nullopt, fmt::format("scales is not F16/BF16 [{}, {}] (qzeros' width x 8)", out,
                                      width * 8)};
  QuantizedMatrix m;
  m.coding = ElementCoding::kAwqRowPacked;
  m.rows = out;
  m.cols = in;
  m.scale_rows = out;
  m.scale_cols = width * 8;  // padded: groups past the row's are never read
  m.block_rows = 1;
  m.block_cols = group_size;
  return {m, ""};
}

}  // namespace

Layout describe_awq(const Module& module, const QuantGroup& group) {
  const ModuleParam* w = module.param("qweight");
  const ModuleParam* s = module.param("scales");
  const ModuleParam* z = module.param("qzeros");
  if (!w || !s) return {std::nullopt, "no qweight or scales"};
  if (!z) return {std::nullopt, "no qzeros (AutoAWQ always writes the zero points)"};
  const TensorInfo& wi = *w->ref->info;
  const TensorInfo& si = *s->ref->info;
  const TensorInfo& zi = *z->ref->info;
  if (group.bits != 4) return {std::nullopt, fmt::format("{}-bit AWQ is not read", group.bits)};
  if (wi.dtype != Dtype::kI32 || wi.shape.size() != 2 || wi.shape[0] == 0 || wi.shape[1] == 0)
    return {std::nullopt, "qweight is not a 2-D I32 tensor"};
  if (zi.dtype != Dtype::kI32 || !zi.readable) return {std::nullopt, "qzeros is not readable I32"};
  Layout layout = group.format == WeightFormat::kAwqGemv
                      ? describe_gemv(wi, si, zi, group.group_size)
                      : describe_gemm(wi, si, zi, group.group_size);
  if (!layout.matrix) return layout;
  QuantizedMatrix& m = *layout.matrix;
  m.bits = 4;
  m.codes = w->ref;
  m.scales = s->ref;
  m.scale_dtype = *si.dtype;
  m.zero_points = z->ref;
  m.zero_offset = group.zero_offset;
  return layout;
}

}  // namespace ckd

// GPTQ (AutoGPTQ, GPTQModel, optimum; auto-round packing_format auto_gptq): int32 qweight
// [in*bits/32, out] with value k of column n at bit k*bits of the column's word stream (3-bit
// values straddle words), qzeros [groups, out*bits/32] packed the same way along each row,
// F16/BF16 scales [groups, out], and g_idx [in] naming each input channel's group (GPTQModel
// nn_modules/qlinear/__init__.py pack_block and dequantize_weight; AutoGPTQ
// nn_modules/qlinear/qlinear_cuda_old.py). W[n, k] = (q - z) x s with z the stored zero + 1
// under checkpoint_format "gptq" (v1; AutoGPTQ packs zeros - 1 and its kernels add 1 back, as
// vLLM's gptq_gemm does for use_v2_format false) and the stored zero under "gptq_v2".
// Decoded as stored, [in, out] (rows are input channels), so a chunk is whole word rows.
#include <fmt/format.h>

#include "checkpoint/checkpoint.h"
#include "compare/layout.h"

namespace ckd {

namespace {

bool half_scale(const TensorInfo& t) {
  return t.dtype == Dtype::kF16 || t.dtype == Dtype::kBF16;
}

}  // namespace

Layout describe_gptq(const Module& module, const QuantGroup& group) {
  const ModuleParam* w = module.param("qweight");
  const ModuleParam* s = module.param("scales");
  const ModuleParam* z = module.param("qzeros");
  const ModuleParam* g_idx = module.param("g_idx");
  if (!w || !s || !z) return {std::nullopt, "no qweight, scales or qzeros"};
  const TensorInfo& wi = *w->ref->info;
  const TensorInfo& si = *s->ref->info;
  const TensorInfo& zi = *z->ref->info;
  const int bits = group.bits;
  if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
    return {std::nullopt, fmt::format("{}-bit GPTQ is not read", bits)};
  if (wi.dtype != Dtype::kI32 || wi.shape.size() != 2)
    return {std::nullopt, "qweight is not a 2-D I32 tensor"};
  auto logical =
      logical_matrix(*format_traits(WeightFormat::kGptq), Dtype::kI32, bits, wi.shape[0], wi.shape[1]);
  const uint64_t b = static_cast<uint64_t>(bits);
  if (!logical || logical->out == 0 || logical->out * b % 32 != 0)
    return {std::nullopt, fmt::format("qweight [{}, {}] is not {}-bit values packed down [in, out]",
                                      wi.shape[0], wi.shape[1], bits)};
  const uint64_t in = logical->in, out = logical->out;
  const uint64_t group_size = group.group_size && group.group_size < in ? group.group_size : 0;
  const uint64_t groups = group_size ? (in + group_size - 1) / group_size : 1;
  if (!half_scale(si) || si.shape != std::vector<uint64_t>{groups, out})
    return {std::nullopt, fmt::format("scales is not F16/BF16 [{}, {}] (group_size {})", groups,
                                      out, group.group_size ? std::to_string(group.group_size) : "-1")};
  if (zi.dtype != Dtype::kI32 || zi.shape != std::vector<uint64_t>{groups, out * b / 32} ||
      !zi.readable)
    return {std::nullopt, fmt::format("qzeros is not a readable I32 [{}, {}]", groups, out * b / 32)};
  QuantizedMatrix m;
  m.coding = ElementCoding::kGptqColumnPacked;
  m.bits = bits;
  m.input_major = true;
  m.rows = in;
  m.cols = out;
  m.codes = w->ref;
  m.scales = s->ref;
  m.scale_dtype = *si.dtype;
  m.zero_points = z->ref;
  m.zero_offset = group.zero_offset;
  m.scale_rows = groups;
  m.scale_cols = out;
  m.block_rows = group_size ? group_size : in;
  m.block_cols = 1;
  if (g_idx) {
    // GPTQModel's dequantize_weight indexes scales and zeros by g_idx whether or not desc_act
    // is declared; the contiguous index changes nothing.
    if (std::string problem = read_input_groups(m, *g_idx, in, groups, group_size); !problem.empty())
      return {std::nullopt, problem};
  } else if (group.act_order) {
    return {std::nullopt, "desc_act is declared but there is no g_idx to order the groups"};
  }
  return {m, ""};
}

}  // namespace ckd

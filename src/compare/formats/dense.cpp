// compressed-tensors format "dense" (save_compressed=False, quantization_status "frozen"): the
// weights stay BF16/F32, stored next to the weight_scale (weight_zero_point, weight_global_scale)
// the quantization computed, which the compressor never applied (FAILURES.md A4). An engine that
// runs them fake-quantizes on the fly (compressed_tensors/quantization/lifecycle/forward.py,
// `forward_quantize` -> `fake_quantize`), so the module's error is that of the quantization its
// sidecars describe: FP8, NVFP4 or 1-8 bit integers, per tensor, channel, group or block.
#include <cstring>

#include <fmt/format.h>

#include "checkpoint/checkpoint.h"
#include "compare/layout.h"

namespace ckd {

Layout describe_dense(const Module& module, const QuantGroup& group) {
  if (module.has_role(TensorRole::kGIdx))
    return {std::nullopt, "activation-ordered groups (weight_g_idx) are not compared yet"};
  const ModuleParam* w = module.weight();
  const ModuleParam* s = module.first_with_role(TensorRole::kWeightScale);
  const ModuleParam* z = module.first_with_role(TensorRole::kZeroPoint);
  const ModuleParam* g = module.first_with_role(TensorRole::kGlobalScale);
  if (!w || !s)
    return {std::nullopt, "a dense weight without a weight_scale: nothing says how it quantizes"};
  const TensorInfo& wi = *w->ref->info;
  const TensorInfo& si = *s->ref->info;
  if ((wi.dtype != Dtype::kBF16 && wi.dtype != Dtype::kF32) || wi.shape.size() != 2)
    return {std::nullopt, "the dense weight is not a 2-D BF16 or F32 tensor"};
  QuantizedMatrix m;
  m.coding = ElementCoding::kDenseFloat;
  m.rows = wi.shape[0];
  m.cols = wi.shape[1];
  m.codes = w->ref;
  m.scales = s->ref;
  m.fake.weight = *wi.dtype;
  switch (group.dense_of) {
    case WeightFormat::kFp8Block:
    case WeightFormat::kFp8Tensor:
    case WeightFormat::kFp8Channel:
    case WeightFormat::kFp8Group:
      m.format = "fp8";
      m.fake.type = FakeQuantType::kFp8;
      break;
    case WeightFormat::kNvfp4:
      m.format = "nvfp4";
      m.fake.type = FakeQuantType::kFp4;
      break;
    case WeightFormat::kInt8:
    case WeightFormat::kIntPacked:
      if (group.bits < 1 || group.bits > 8)
        return {std::nullopt, fmt::format("{}-bit integers are not compared", group.bits)};
      m.format = fmt::format("int{}", group.bits);
      m.fake.type = FakeQuantType::kInt;
      m.fake.bits = group.bits;
      break;
    default:
      return {std::nullopt, fmt::format("dense {} weights are not compared yet",
                                        weight_format_name(group.dense_of))};
  }
  if (g) {  // tensor_group: s_eff = s / G in float32
    const TensorInfo& gi = *g->ref->info;
    if (gi.dtype != Dtype::kF32 || !gi.shape_valid || gi.numel != 1 || !gi.readable)
      return {std::nullopt, "the global scale is not one readable F32 value"};
    std::string_view bytes = ref_bytes(*g->ref);  // through its own shard
    std::memcpy(&m.global, bytes.data(), 4);
    m.global_op = GlobalScaleOp::kDivide;
    m.fake.scale = Dtype::kF32;
  }
  if (!si.dtype || (si.dtype != Dtype::kBF16 && si.dtype != Dtype::kF32 &&
                    !(g && si.dtype == Dtype::kF8_E4M3)))
    return {std::nullopt, "the weight scale is not BF16 or F32 (nor FP8 under a global scale)"};
  m.scale_dtype = *si.dtype;
  if (!g) m.fake.scale = *si.dtype;
  uint64_t declared_rows = group.block ? (*group.block)[0] : 0;
  uint64_t declared_cols = group.block ? (*group.block)[1] : group.group_size;
  if (std::string problem = fit_scale_grid(m, si.shape, declared_rows, declared_cols);
      !problem.empty())
    return {std::nullopt, problem};
  if (z) {
    const TensorInfo& zi = *z->ref->info;
    if (zi.dtype != Dtype::kI8 || zi.numel != m.scale_rows * m.scale_cols || !zi.readable)
      return {std::nullopt, "the zero point is not I8 on the scale grid"};
    m.zero_points = z->ref;
    m.fake.zero_point = true;
  } else if (!group.symmetric) {
    return {std::nullopt, "asymmetric quantization is declared but there is no zero point"};
  }
  return {m, ""};
}

}  // namespace ckd

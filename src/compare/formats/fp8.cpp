// FP8 E4M3 weights with float scales: DeepSeek block FP8 (weight_scale_inv), compressed-tensors
// FP8 tensor/channel/group/block (weight_scale), modelopt FP8 (0-d, [out], [out/128,1,in/128,1])
// and MXFP8 (U8 E8M0 scales per 32). All multiply: W = fp8(q) x s (FORMATS.md §3.3, §4.5, §5.2).
#include <fmt/format.h>

#include "checkpoint/checkpoint.h"
#include "compare/layout.h"

namespace ckd {

Layout describe_fp8(const Module& module, const QuantGroup& group) {
  const ModuleParam* w = module.weight();
  const ModuleParam* s = module.first_with_role(TensorRole::kWeightScale);
  if (!w || !s) return {std::nullopt, "no weight or no weight scale"};
  const TensorInfo& wi = *w->ref->info;
  const TensorInfo& si = *s->ref->info;
  if (wi.dtype != Dtype::kF8_E4M3 || wi.shape.size() != 2)
    return {std::nullopt, "the weight is not a 2-D F8_E4M3 tensor"};
  if (!si.dtype) return {std::nullopt, "the weight scale has an unknown dtype"};
  Dtype sd = *si.dtype;
  bool mx = group.format == WeightFormat::kMxfp8;
  if (mx ? (sd != Dtype::kU8 && sd != Dtype::kF8_E8M0)
         : (sd != Dtype::kF32 && sd != Dtype::kBF16 && sd != Dtype::kF16)) {
    return {std::nullopt, fmt::format("weight scale dtype {} is not a {} scale", dtype_name(sd),
                                      mx ? "E8M0" : "float")};
  }
  QuantizedMatrix m;
  m.format = mx ? "mxfp8" : "fp8";
  m.coding = ElementCoding::kF8E4M3;
  m.rows = wi.shape[0];
  m.cols = wi.shape[1];
  m.codes = w->ref;
  m.scales = s->ref;
  m.scale_dtype = sd;
  uint64_t declared_rows = group.block ? (*group.block)[0] : 0;
  uint64_t declared_cols = group.block ? (*group.block)[1] : group.group_size;
  if (std::string problem = fit_scale_grid(m, si.shape, declared_rows, declared_cols);
      !problem.empty()) {
    return {std::nullopt, problem};
  }
  return {m, ""};
}

}  // namespace ckd

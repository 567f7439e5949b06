// NVFP4: packed E2M1 (U8 [out, in/2], element 2k in the low nibble), F8_E4M3 scales per 16
// elements, and one F32 global scale whose direction depends on the writer (FORMATS.md §4.7,
// §5.3): compressed-tensors divides by weight_global_scale, modelopt multiplies by
// weight_scale_2.
#include <cstring>

#include <fmt/format.h>

#include "checkpoint/checkpoint.h"
#include "compare/layout.h"

namespace ckd {

Layout describe_nvfp4(const Module& module, const QuantGroup& group) {
  const ModuleParam* w = module.weight();
  const ModuleParam* s = module.first_with_role(TensorRole::kWeightScale);
  const ModuleParam* g = module.first_with_role(TensorRole::kGlobalScale);
  if (!w || !s || !g) return {std::nullopt, "no packed weight, block scale or global scale"};
  const TensorInfo& si = *s->ref->info;
  const TensorInfo& gi = *g->ref->info;
  if (si.dtype != Dtype::kF8_E4M3) return {std::nullopt, "the block scale is not F8_E4M3"};
  if (gi.dtype != Dtype::kF32 || !gi.shape_valid || gi.numel != 1 || !gi.readable)
    return {std::nullopt, "the global scale is not one readable F32 value"};
  Layout layout = packed_fp4_layout("nvfp4", *w, *s, group.group_size ? group.group_size : 16);
  if (!layout.matrix) return layout;
  // Through its own shard: real exports often put it in another file than the weight.
  std::string_view bytes = ref_bytes(*g->ref);
  std::memcpy(&layout.matrix->global, bytes.data(), 4);
  layout.matrix->global_op =
      g->name == "weight_scale_2" ? GlobalScaleOp::kMultiply : GlobalScaleOp::kDivide;
  return layout;
}

}  // namespace ckd

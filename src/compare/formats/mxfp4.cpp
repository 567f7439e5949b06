// MXFP4: packed E2M1 (low nibble first) with U8 E8M0 scales per 32 elements and no global
// scale, W = e2m1 x 2^(s - 127): compressed-tensors' U8 [out, in/2] weight_packed (FORMATS.md
// §4.8) and gpt-oss's fused experts, U8 [E, out, in/32, 16] _blocks with [E, out, in/32] _scales
// (§6.2, §6.3), read as E x out rows.
#include <fmt/format.h>

#include "checkpoint/checkpoint.h"
#include "compare/layout.h"

namespace ckd {

Layout describe_mxfp4(const Module& module, const QuantGroup& group) {
  const ModuleParam* w = module.weight();
  const ModuleParam* s = module.first_with_role(TensorRole::kWeightScale);
  if (!w || !s) return {std::nullopt, "no packed weight or no scale"};
  const TensorInfo& wi = *w->ref->info;
  const TensorInfo& si = *s->ref->info;
  bool gpt_oss = wi.shape.size() == 4 && wi.shape[3] == 16 && si.shape.size() == 3 &&
                 si.shape[0] == wi.shape[0] && si.shape[1] == wi.shape[1] &&
                 si.shape[2] == wi.shape[2];
  if (wi.dtype != Dtype::kU8 || (wi.shape.size() != 2 && !gpt_oss))
    return {std::nullopt,
            "the packed weight is neither U8 [out, in/2] nor gpt-oss [E, out, in/32, 16]"};
  if (si.dtype != Dtype::kU8 && si.dtype != Dtype::kF8_E8M0)
    return {std::nullopt, "the scale is not U8 / F8_E8M0 exponents"};
  if (!gpt_oss) return packed_fp4_layout("mxfp4", *w, *s, group.group_size ? group.group_size : 32);
  QuantizedMatrix m;
  m.format = "mxfp4";
  m.coding = ElementCoding::kE2M1Packed;
  m.codes = w->ref;
  m.scales = s->ref;
  m.scale_dtype = *si.dtype;
  m.experts = wi.shape[0];
  m.rows = wi.shape[0] * wi.shape[1];
  m.cols = wi.shape[2] * 32;
  m.scale_rows = m.rows;
  m.scale_cols = wi.shape[2];
  m.block_rows = 1;
  m.block_cols = 32;
  return {m, ""};
}

}  // namespace ckd

// Scale values that cannot be right: NaN / Inf (FP8 codes 0x7F/0xFF, E8M0 0xFF) or zero /
// negative (FAILURES.md D1-D5). Reads only the bytes of scale tensors.
#include <stdexcept>

#include "numerics/formats.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

std::string encoding_hint(Dtype d, bool non_finite) {
  if (!non_finite) return "";
  if (d == Dtype::kU8 || d == Dtype::kF8_E8M0) return " (E8M0 code 0xFF)";
  if (d == Dtype::kF8_E4M3) return " (E4M3 codes 0x7F/0xFF)";
  return "";
}

class ScaleValuesCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    std::string mode = ctx.param("mode", std::string());
    if (mode != "non-finite" && mode != "non-positive")
      throw std::runtime_error("scale-values: bad mode " + mode);
    bool non_finite = mode == "non-finite";
    CappedEmitter out(ctx, 25);
    for (const Module& m : ctx.checkpoint().modules().modules()) {
      const WeightFormatTraits* traits = m.group ? format_traits(m.group->format) : nullptr;
      // MLX stores a negative scale for a group whose extreme is negative (mlx/ops.cpp).
      const bool signed_scales = traits && scales_may_be_negative(*traits);
      for (const ModuleParam& p : m.params) {
        // An affine format's biases are dequantization parameters too (W = q * s + b).
        bool affine_bias = signed_scales && p.role == TensorRole::kZeroPoint;
        if ((!is_scale_role(p.role) && !affine_bias) || !p.ref->info->dtype) continue;
        Dtype d = *p.ref->info->dtype;
        if (d == Dtype::kI32 || d == Dtype::kI64 || d == Dtype::kI8) continue;  // not a float scale
        // bitsandbytes double quantization stores the absmax as U8 codes, not E8M0 exponents.
        if (d == Dtype::kU8 && traits && traits->grid == ScaleGrid::kFlatBlocks) continue;
        if (!non_finite && signed_scales) continue;
        const ScaleStats& s = ctx.scale_stats(*p.ref);
        if (!s.decoded) continue;
        if (non_finite && s.nan + s.inf > 0) {
          out.add(
              *p.ref,
              fmt::format("{} of {} values are not finite ({} NaN, {} Inf){}; first at index {}",
                          with_commas(s.nan + s.inf), with_commas(s.count), s.nan, s.inf,
                          encoding_hint(d, true), s.first_non_finite));
        } else if (!non_finite && s.zero + s.negative > 0) {
          out.add(*p.ref,
                  fmt::format("{} of {} values are zero or negative ({} zero, {} negative); first "
                              "at index {} = {}; dequantization divides or multiplies by it",
                              with_commas(s.zero + s.negative), with_commas(s.count), s.zero,
                              s.negative, s.first_non_positive, s.first_non_positive_value));
        }
      }
    }
    out.finish(non_finite ? "scale tensors with NaN/Inf"
                          : "scale tensors with zero or negative values");
  }
};

}  // namespace

std::unique_ptr<Check> make_scale_values_check() {
  return std::make_unique<ScaleValuesCheck>();
}

}  // namespace ckd

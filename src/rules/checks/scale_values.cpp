// Scale values that cannot be right: NaN / Inf (FP8 codes 0x7F/0xFF, E8M0 0xFF) or zero /
// negative (FAILURES.md D1-D5). Reads only the bytes of scale tensors.
#include <cmath>
#include <optional>
#include <stdexcept>

#include "io/checked.h"
#include "numerics/float_decode.h"
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

// AWQ GEMV scales are [out, width*8] with each row zero past its ceil(in/g) groups (AutoAWQ
// awq/modules/linear/gemv.py from_linear: qscales = zeros, then the real scales in front): the
// statistics of the real columns only. nullopt when the module is not such a tensor.
std::optional<ScaleStats> awq_gemv_row_stats(const Module& m, const ModuleParam& p) {
  if (!m.group || m.group->format != WeightFormat::kAwqGemv || p.name != "scales")
    return std::nullopt;
  const ModuleParam* w = m.param("qweight");
  const TensorInfo& t = *p.ref->info;
  if (!w || w->ref->info->shape.size() != 2 || t.shape.size() != 2 || !t.readable || !t.dtype)
    return std::nullopt;
  const uint64_t in = w->ref->info->shape[1] * 8, cols = t.shape[1];
  const uint64_t group = m.group->group_size && m.group->group_size < in ? m.group->group_size : in;
  const uint64_t groups = ceil_div(in, group);
  if (groups > cols || t.shape[0] == 0) return std::nullopt;
  std::string_view bytes = p.ref->shard->tensor_bytes(t);
  ScaleStats s;
  s.decoded = true;
  for (uint64_t r = 0; r < t.shape[0]; ++r) {
    for (uint64_t c = 0; c < groups; ++c) {
      const uint64_t i = r * cols + c;
      auto v = decode_element(*t.dtype, bytes, i);
      if (!v) return std::nullopt;
      ++s.count;
      if (!std::isfinite(*v)) {
        if (s.nan + s.inf == 0) s.first_non_finite = i;
        (std::isnan(*v) ? s.nan : s.inf)++;
      } else if (*v <= 0) {
        if (s.zero + s.negative == 0) s.first_non_positive = i, s.first_non_positive_value = *v;
        (*v == 0 ? s.zero : s.negative)++;
      }
    }
  }
  return s;
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
      const bool negative_ok = traits && negative_scales_allowed(*traits);
      for (const ModuleParam& p : m.params) {
        // An affine format's biases are dequantization parameters too (W = q * s + b).
        bool affine_bias = signed_scales && p.role == TensorRole::kZeroPoint;
        if ((!is_scale_role(p.role) && !affine_bias) || !p.ref->info->dtype) continue;
        Dtype d = *p.ref->info->dtype;
        if (d == Dtype::kI32 || d == Dtype::kI64 || d == Dtype::kI8) continue;  // not a float scale
        // bitsandbytes double quantization stores the absmax as U8 codes, not E8M0 exponents.
        if (d == Dtype::kU8 && traits && traits->grid == ScaleGrid::kFlatBlocks) continue;
        if (!non_finite && signed_scales) continue;
        std::optional<ScaleStats> real_columns = awq_gemv_row_stats(m, p);
        const ScaleStats& s = real_columns ? *real_columns : ctx.scale_stats(*p.ref);
        if (!s.decoded) continue;
        if (non_finite && s.nan + s.inf > 0) {
          out.add(
              *p.ref,
              fmt::format("{} of {} values are not finite ({} NaN, {} Inf){}; first at index {}",
                          with_commas(s.nan + s.inf), with_commas(s.count), s.nan, s.inf,
                          encoding_hint(d, true), s.first_non_finite));
        } else if (!non_finite && negative_ok && s.zero > 0) {
          out.add(*p.ref, fmt::format("{} of {} values are zero; dequantization multiplies by it",
                                      with_commas(s.zero), with_commas(s.count)));
        } else if (!non_finite && !negative_ok && s.zero + s.negative > 0) {
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

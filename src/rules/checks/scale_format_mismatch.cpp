// Block-FP8 scales stored in another format than `scale_fmt` declares (FAILURES.md part 3;
// transformers #47030, vllm PR #58157). DeepSeek-V3.1+ declares scale_fmt "ue8m0": every block
// scale is a power of two (FORMATS.md §3.4, s = 2^ceil(log2(amax/448))), and engines with UE8M0
// kernels (DeepGEMM on Blackwell) keep only the exponent, so a float scale with mantissa bits
// silently changes every weight of its block. The reverse that is a defect: raw U8 exponents
// without scale_fmt "ue8m0" are read as the integers 0-255 (a scale of 120.0 instead of 2^-7).
// F32 / BF16 scales that happen to be powers of two are fine under "float", and F8_E8M0 scales
// carry their meaning in their dtype, so neither is reported. Reads only the scale bytes.
#include "numerics/formats.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

class ScaleFormatMismatchCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    const QuantScheme& scheme = ck.scheme();
    if (scheme.method != QuantMethod::kFp8) return;
    const bool ue8m0 = scheme.scale_fmt == "ue8m0";
    CappedEmitter out(ctx, static_cast<size_t>(ctx.param("max_findings", 25.0)));
    for (const Module& m : ck.modules().modules()) {
      const QuantGroup* g = m.group;
      if (!g || g->format != WeightFormat::kFp8Block) continue;
      const ModuleParam* s = m.first_with_role(TensorRole::kWeightScale);
      if (!s || !s->ref->info->dtype) continue;
      Dtype d = *s->ref->info->dtype;
      if (!ue8m0) {
        if (d != Dtype::kU8) continue;
        out.add(
            *s->ref,
            fmt::format("{} block scales are raw U8 E8M0 exponents but quantization_config "
                        "declares scale_fmt \"{}\": loaders read each byte as the number "
                        "0-255 (an exponent of 120 becomes a scale of 120.0, not 2^-7); "
                        "declare scale_fmt \"ue8m0\" or store F8_E8M0 / F32 scales",
                        m.path, scheme.scale_fmt.empty() ? "float (absent)" : scheme.scale_fmt));
        continue;
      }
      if (d == Dtype::kU8 || d == Dtype::kF8_E8M0) continue;  // powers of two by construction
      const ScaleStats& st = ctx.scale_stats(*s->ref);
      if (!st.decoded || st.not_power_of_two == 0) continue;
      out.add(*s->ref,
              fmt::format("scale_fmt \"ue8m0\" is declared but {} of {} {} block scales are not "
                          "powers of two (first: index {} = {:g}); engines that keep only the "
                          "exponent (DeepGEMM UE8M0) rescale those blocks by up to 2x: "
                          "re-quantize with power-of-two scales or drop scale_fmt",
                          with_commas(st.not_power_of_two), with_commas(st.count), dtype_name(d),
                          st.first_not_power_of_two, st.first_not_power_of_two_value));
    }
    out.finish("modules whose block scales disagree with scale_fmt");
  }
};

}  // namespace

std::unique_ptr<Check> make_scale_format_mismatch_check() {
  return std::make_unique<ScaleFormatMismatchCheck>();
}

}  // namespace ckd

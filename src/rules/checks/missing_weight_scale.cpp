// A quantized weight without the scale tensors its format needs (FAILURES.md C1-C7, B7). vLLM
// does not fail on these: it serves with a -3.4e38 sentinel or uninitialized memory.
#include "rules/checks/util.h"

namespace ckd {
namespace {

class MissingWeightScaleCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    const QuantScheme& scheme = ck.scheme();
    CappedEmitter out(ctx, static_cast<size_t>(ctx.param("max_findings", 25.0)));
    // Neighbouring modules share their group: its required names are listed once per run of it.
    const QuantGroup* listed = nullptr;
    std::vector<std::vector<std::string>> required;
    for (const Module& m : ck.modules().modules()) {
      const ModuleParam* w = m.weight();
      if (!w || !w->ref->info->dtype) continue;
      Dtype d = *w->ref->info->dtype;
      const QuantGroup* g = m.group;
      if (g && weight_dtype_fits(g->format, d) && !is_high_precision_float(d)) {
        if (g != listed) {
          required = required_weight_params(scheme.method, *g);
          listed = g;
        }
        for (const auto& alternatives : required) {
          bool present = false;
          for (const std::string& name : alternatives) present = present || m.param(name);
          if (present) continue;
          std::string hint;
          if (alternatives.front() == "weight_scale_inv" && m.param("weight_scale")) {
            hint =
                "; it has weight_scale instead: quant_method fp8 with weight_block_size reads "
                "weight_scale_inv (rename, the values are already multipliers)";
          } else if (alternatives.front() == "weight_scale" && m.param("weight_scale_inv")) {
            hint = "; it has weight_scale_inv instead (rename to weight_scale)";
          }
          out.add(
              *w->ref,
              fmt::format(
                  "{} weight of {} has no {} ({} {}){}", dtype_name(d), m.path,
                  alternatives.front(), scheme.method_name, weight_format_name(g->format),
                  hint.empty() ? "; the loader keeps an uninitialized or sentinel scale" : hint));
        }
      } else if (is_fp8(d) && !m.has_role(TensorRole::kWeightScale) &&
                 !m.has_role(TensorRole::kGlobalScale)) {
        // An FP8 weight without any scale is wrong whatever the config says (C7).
        out.add(*w->ref,
                fmt::format("{} weight of {} has no scale tensor at all; its values cannot be "
                            "dequantized",
                            dtype_name(d), m.path));
      }
    }
    out.finish("modules missing weight scales");
  }
};

}  // namespace

std::unique_ptr<Check> make_missing_weight_scale_check() {
  return std::make_unique<MissingWeightScaleCheck>();
}

}  // namespace ckd

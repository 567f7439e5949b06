// The config declares quantization, but the targeted weights are still 16/32-bit floats (the
// "false FP8" of FAILURES.md A1-A6), or are stored in another format than declared (A2).

#include "rules/checks/util.h"

namespace ckd {
namespace {

class FalseQuantizationCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    const QuantScheme& scheme = ck.scheme();
    if (!scheme.quantizes()) return;
    size_t targeted = 0, unquantized = 0, misformatted = 0;
    const TensorRef* unquantized_example = nullptr;
    const TensorRef* misformatted_example = nullptr;
    std::string misformat_detail;
    bool any_scale = false;
    for (const Module& m : ck.modules().modules()) {
      for (const auto& p : m.params) any_scale = any_scale || is_scale_role(p.role);
      if (!m.is_linear()) continue;
      const QuantGroup* g = m.group;
      if (!g) continue;
      const ModuleParam* w = m.weight();
      if (!w->ref->info->dtype) continue;
      Dtype d = *w->ref->info->dtype;
      ++targeted;
      if (is_high_precision_float(d) && !m.has_role(TensorRole::kWeightScale) &&
          !m.has_role(TensorRole::kGlobalScale)) {
        if (!unquantized_example) unquantized_example = w->ref;
        ++unquantized;
      } else if (!weight_dtype_fits(g->format, d)) {
        if (!misformatted_example) {
          misformatted_example = w->ref;
          misformat_detail =
              fmt::format("declared {} ({}) but stored as {}", weight_format_name(g->format),
                          expected_weight_dtypes(g->format), dtype_name(d));
        }
        ++misformatted;
      }
    }
    if (targeted == 0) return;
    const DtypeBytes target_bytes = count_target_dtype_bytes(ck);
    std::vector<std::string> shares;
    for (const auto& [dtype, bytes] : target_bytes.bytes)
      shares.push_back(fmt::format("{} {}", dtype, percent(bytes, target_bytes.total)));
    std::string histogram = fmt::format("targeted weight bytes: {}", fmt::join(shares, ", "));
    std::string declared = scheme.algo.empty()
                               ? scheme.method_name
                               : fmt::format("{} {}", scheme.method_name, scheme.algo);
    if (unquantized > 0) {
      std::string advice;
      if (unquantized == targeted && !any_scale) {
        advice =
            "no scale tensor exists: quantize before saving, or remove the stale "
            "quantization_config";
      } else if (unquantized == targeted) {
        advice =
            "scales were written but the weights were never compressed (save_compressed=False?)";
      } else {
        advice = fmt::format("quantize them or add them to {}",
                             scheme.ignore_key.empty() ? "the ignore list" : scheme.ignore_key);
      }
      ctx.emit(*unquantized_example,
               fmt::format("{} declares {} but {} of {} targeted modules are unquantized 16/32-bit "
                           "floats with no scales ({}); {}",
                           scheme.source_file, declared, with_commas(unquantized),
                           with_commas(targeted), histogram, advice));
    }
    if (misformatted > 0) {
      ctx.emit(*misformatted_example,
               fmt::format("{} of {} targeted modules are {} ({})", with_commas(misformatted),
                           with_commas(targeted), misformat_detail, histogram));
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_false_quantization_check() {
  return std::make_unique<FalseQuantizationCheck>();
}

}  // namespace ckd

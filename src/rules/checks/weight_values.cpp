// --deep: NaN / Inf codes in float and FP8 tensors (FAILURES.md D4), and weights that are all
// zero (an export that never copied the data).
#include <stdexcept>

#include "rules/checks/util.h"

namespace ckd {
namespace {

class WeightValuesCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    std::string mode = ctx.param("mode", std::string());
    if (mode != "non-finite" && mode != "all-zero")
      throw std::runtime_error("weight-values: bad mode " + mode);
    const DataScanSummary& data = ctx.data_stats();
    CappedEmitter out(ctx, 25);
    uint64_t min_elements = static_cast<uint64_t>(ctx.param("min_elements", 16.0));
    for (const Module& m : ctx.checkpoint().modules().modules()) {
      for (const ModuleParam& p : m.params) {
        auto it = data.tensors.find(p.ref->info);
        if (it == data.tensors.end()) continue;
        const DataStats& s = it->second;
        if (mode == "non-finite" && s.nan + s.inf > 0) {
          out.add(*p.ref, fmt::format("{} of {} {} values are not finite ({} NaN, {} Inf)",
                                      with_commas(s.nan + s.inf), with_commas(p.ref->info->numel),
                                      dtype_name(*p.ref->info->dtype), s.nan, s.inf));
        } else if (mode == "all-zero" && s.all_zero && p.ref->info->numel >= min_elements &&
                   (p.role == TensorRole::kWeight || p.role == TensorRole::kPackedWeight)) {
          out.add(*p.ref, fmt::format("all {} bytes are zero: the weight was never written",
                                      with_commas(p.ref->info->nbytes())));
        }
      }
    }
    out.finish(mode == "non-finite" ? "tensors with NaN/Inf" : "all-zero weights");
  }
};

}  // namespace

std::unique_ptr<Check> make_weight_values_check() {
  return std::make_unique<WeightValuesCheck>();
}

}  // namespace ckd

// A global or input scale on the wrong side of its convention's healthy range (FORMATS.md §10,
// §12.1; FAILURES.md E1): compressed-tensors stores divisors (2688/amax, >> 1), modelopt
// multipliers (amax/2688, << 1). A value on the wrong side is an inverted convention.
#include <map>

#include "rules/checks/util.h"

namespace ckd {
namespace {

class ScaleOutOfRangeCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    const std::string method = quant_method_name(ck.scheme().method);
    const nlohmann::json ranges = ctx.params().value("ranges", nlohmann::json::array());
    for (const auto& range : ranges) {
      if (range.value("method", std::string()) != method) continue;
      std::string param = range.value("param", std::string());
      double lo = range.value("min", 0.0), hi = range.value("max", 1e300);
      std::string why = range.value("why", std::string());
      struct Side {
        size_t count = 0;
        double worst = 0;
        const TensorRef* example = nullptr;
      };
      Side below, above;
      size_t seen = 0;
      for (const Module& m : ck.modules().modules()) {
        const ModuleParam* p = m.param(param);
        if (!p) continue;
        const ScaleStats& s = ctx.scale_stats(*p->ref);
        if (!s.decoded || !s.any_finite) continue;
        ++seen;
        if (s.min < lo) {
          if (below.count++ == 0 || s.min < below.worst)
            below.worst = s.min, below.example = p->ref;
        }
        if (s.max > hi) {
          if (above.count++ == 0 || s.max > above.worst)
            above.worst = s.max, above.example = p->ref;
        }
      }
      if (below.count > 0) {
        ctx.emit(*below.example, fmt::format("{} of {} {} values are below {:g} (lowest {:g}); {}",
                                             with_commas(below.count), with_commas(seen), param, lo,
                                             below.worst, why));
      }
      if (above.count > 0) {
        ctx.emit(*above.example, fmt::format("{} of {} {} values are above {:g} (highest {:g}); {}",
                                             with_commas(above.count), with_commas(seen), param, hi,
                                             above.worst, why));
      }
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_scale_out_of_range_check() {
  return std::make_unique<ScaleOutOfRangeCheck>();
}

}  // namespace ckd

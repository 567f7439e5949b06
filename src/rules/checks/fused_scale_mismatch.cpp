// q/k/v and gate/up share one fused kernel and so one global scale; different per-projection
// globals make vLLM dequantize all but one with the wrong scale (FAILURES.md E2).
#include <cmath>
#include <map>

#include "rules/checks/util.h"

namespace ckd {
namespace {

// "model.layers.0.mlp.gate_proj" -> "model.layers.0.mlp gate/up".
std::optional<std::string> fusion_group(std::string_view path) {
  size_t dot = path.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string parent(path.substr(0, dot));
  std::string_view last = path.substr(dot + 1);
  if (last == "q_proj" || last == "k_proj" || last == "v_proj") return parent + " q/k/v";
  if (last == "gate_proj" || last == "up_proj") return parent + " gate/up";
  if (last == "w1" || last == "w3") return parent + " w1/w3";
  return std::nullopt;
}

class FusedScaleMismatchCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    double tolerance = ctx.param("relative_tolerance", 1e-6);
    for (const char* param : {"weight_global_scale", "weight_scale_2"}) {
      std::map<std::string, std::vector<std::pair<double, const TensorRef*>>> groups;
      for (const Module& m : ctx.checkpoint().modules().modules()) {
        const ModuleParam* p = m.param(param);
        if (!p) continue;
        auto group = fusion_group(m.path);
        if (!group) continue;
        const ScaleStats& s = ctx.scale_stats(*p->ref);
        if (!s.decoded || s.count != 1 || !std::isfinite(s.first) || s.first <= 0) continue;
        groups[*group].emplace_back(s.first, p->ref);
      }
      size_t compared = 0, mismatched = 0;
      double worst = 1;
      std::string worst_group;
      const TensorRef* example = nullptr;
      for (const auto& [group, members] : groups) {
        if (members.size() < 2) continue;
        ++compared;
        double lo = members[0].first, hi = members[0].first;
        for (const auto& [v, ref] : members) lo = std::min(lo, v), hi = std::max(hi, v);
        double ratio = hi / lo;
        if (ratio <= 1 + tolerance) continue;
        ++mismatched;
        if (ratio > worst) worst = ratio, worst_group = group, example = members[0].second;
      }
      if (mismatched == 0) continue;
      ctx.emit(*example,
               fmt::format(
                   "{} of {} fused groups have differing {} (worst {:.3g}x at {}); the fused "
                   "kernel uses one scale, so the other projections dequantize with the wrong one",
                   with_commas(mismatched), with_commas(compared), param, worst, worst_group));
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_fused_scale_mismatch_check() {
  return std::make_unique<FusedScaleMismatchCheck>();
}

}  // namespace ckd

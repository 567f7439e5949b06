// Static activation quantization is declared, but quantized modules have no input scale
// (FAILURES.md C1, C3): vLLM reads zeros or uninitialized memory and serves garbage.
#include <map>
#include <set>

#include "rules/checks/util.h"

namespace ckd {
namespace {

class MissingInputScaleCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    const QuantScheme& scheme = ck.scheme();
    CappedEmitter out(ctx, static_cast<size_t>(ctx.param("max_findings", 25.0)));
    // Expert modules are reported per layer and projection, listing the expert ids.
    struct ExpertGap {
      std::set<uint64_t> experts;
      const TensorRef* anchor = nullptr;
      std::string param;
    };
    std::map<std::string, ExpertGap> expert_gaps;
    for (const Module& m : ck.modules().modules()) {
      std::optional<std::string> missing = missing_input_scale(m, scheme.method);
      if (!missing) continue;
      const std::string& wanted = *missing;
      const ModuleParam* w = m.weight();
      const QuantGroup* g = m.group;
      // An expert module path ("...experts.7.down_proj") parses like a tensor name.
      if (auto key = parse_expert_key(m.path)) {
        ExpertGap& gap = expert_gaps[fmt::format("{}.*.{}", key->layer, key->rest)];
        gap.experts.insert(key->expert);
        if (!gap.anchor) gap.anchor = w->ref;
        gap.param = wanted;
        continue;
      }
      out.add(*w->ref, fmt::format("{} is {} with static activations but has no {}; the loader "
                                   "uses zeros or uninitialized memory",
                                   m.path, weight_format_name(g->format), wanted));
    }
    for (const auto& [pattern, gap] : expert_gaps) {
      std::vector<uint64_t> ids(gap.experts.begin(), gap.experts.end());
      std::string listed =
          ids.size() > 12 ? fmt::format("{}, ... ({} experts)",
                                        fmt::join(ids.begin(), ids.begin() + 12, ", "), ids.size())
                          : fmt::format("{}", fmt::join(ids, ", "));
      out.add(*gap.anchor,
              fmt::format("{} lacks {} for experts {}: static activations are declared "
                          "(uncalibrated experts? vLLM computes 1/0 and outputs NaN or "
                          "pad tokens)",
                          pattern, gap.param, listed));
    }
    out.finish("modules missing input scales");
  }
};

}  // namespace

std::unique_ptr<Check> make_missing_input_scale_check() {
  return std::make_unique<MissingInputScaleCheck>();
}

}  // namespace ckd

// A MoE layer with fewer experts than the config declares, or experts missing tensors their
// siblings have (FAILURES.md C1, G2): loaders leave the missing ones uninitialized.
#include <map>
#include <set>

#include "rules/checks/util.h"

namespace ckd {
namespace {

class IncompleteExpertsCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    auto declared = config_uint(ck, {"num_experts", "n_routed_experts", "num_local_experts", "moe_num_experts"});
    struct Layer {
      std::map<uint64_t, std::set<std::string>> experts;  // expert id -> tensor suffixes
      const TensorRef* anchor = nullptr;
    };
    std::map<std::string, Layer> layers;
    CappedEmitter out(ctx, 25);
    for (const std::string& name : ck.tensor_names()) {
      const TensorRef* ref = ck.find(name);
      if (auto key = parse_expert_key(name)) {
        Layer& layer = layers[key->layer];
        layer.experts[key->expert].insert(key->rest);
        if (!layer.anchor) layer.anchor = ref;
        continue;
      }
      // Fused layouts: experts.gate_up_proj [E, ...], gpt-oss experts.*_blocks [E, ...].
      if (declared && name.find(".experts.") != std::string::npos && ref->info->shape.size() >= 3) {
        auto [module, param] = split_tensor_name(name);
        TensorRole role = role_of_param(param, module);
        if ((role == TensorRole::kWeight || role == TensorRole::kPackedWeight || role == TensorRole::kWeightScale) &&
            ref->info->shape[0] != *declared) {
          out.add(*ref, fmt::format("fused expert tensor has {} experts in dimension 0 but the config "
                                    "declares {}",
                                    ref->info->shape[0], *declared));
        }
      }
    }
    for (const auto& [prefix, layer] : layers) {
      if (declared && layer.experts.size() != *declared) {
        std::vector<uint64_t> missing;
        for (uint64_t e = 0; e < *declared && missing.size() < 12; ++e) {
          if (!layer.experts.count(e)) missing.push_back(e);
        }
        out.add(*layer.anchor, fmt::format("{} has {} experts but the config declares {}{}", prefix,
                                           layer.experts.size(), *declared,
                                           missing.empty() ? std::string()
                                                           : fmt::format(" (missing {}{})", fmt::join(missing, ", "),
                                                                         layer.experts.size() + missing.size() < *declared ? ", ..." : "")));
      }
      // Tensors most experts have but some lack.
      std::map<std::string, size_t> frequency;
      for (const auto& [id, suffixes] : layer.experts) {
        for (const auto& s : suffixes) ++frequency[s];
      }
      for (const auto& [suffix, count] : frequency) {
        if (count * 2 <= layer.experts.size() || count == layer.experts.size()) continue;
        std::vector<uint64_t> lacking;
        for (const auto& [id, suffixes] : layer.experts) {
          if (!suffixes.count(suffix)) lacking.push_back(id);
        }
        std::vector<uint64_t> shown(lacking.begin(), lacking.begin() + static_cast<long>(std::min<size_t>(12, lacking.size())));
        out.add(*layer.anchor, fmt::format("{}.{{{}}}.{} is missing (present in {} of {} experts){}", prefix,
                                           fmt::join(shown, ","), suffix, count, layer.experts.size(),
                                           lacking.size() > shown.size() ? fmt::format(", {} experts lack it", lacking.size()) : ""));
      }
    }
    out.finish("incomplete expert layers");
  }
};

}  // namespace

std::unique_ptr<Check> make_incomplete_experts_check() { return std::make_unique<IncompleteExpertsCheck>(); }

}  // namespace ckd

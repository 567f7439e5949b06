// A MoE layer with fewer experts than the config declares, or experts missing tensors their
// siblings have (FAILURES.md C1, G2): loaders leave the missing ones uninitialized.
#include <algorithm>
#include <map>
#include <set>

#include "checkpoint/architecture.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

class IncompleteExpertsCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    auto declared = config_uint(
        ck, {"num_experts", "n_routed_experts", "num_local_experts", "moe_num_experts"});
    CappedEmitter out(ctx, 25);
    // Sorted names keep each layer's expert tensors together; process one layer at a time.
    struct Entry {
      uint64_t expert;
      std::string_view suffix;
    };
    std::string current_layer;
    const TensorRef* anchor = nullptr;
    std::vector<Entry> entries;
    // Layers where missing-tensor already names the absent experts (a modeled architecture).
    std::set<std::string> explained;
    const ArchitectureDiff& arch = ctx.architecture_diff();
    if (arch.modeled()) {
      for (size_t i : arch.missing) {
        if (auto key = parse_expert_key(arch.expected[i].name)) explained.emplace(key->layer);
      }
    }
    auto finish_layer = [&] {
      if (entries.empty()) return;
      if (!explained.empty() && explained.count(apply_layout(current_layer, arch.layout))) {
        entries.clear();
        return;
      }
      report_layer(out, current_layer, *anchor, entries, declared);
      entries.clear();
    };
    const auto& names = ck.tensor_names();
    for (size_t i = 0; i < names.size(); ++i) {
      std::string_view name = names[i];
      const TensorRef* ref = ck.tensor_refs()[i];
      if (auto key = parse_expert_key(name)) {
        if (key->layer != current_layer) {
          finish_layer();
          current_layer = key->layer;
          anchor = ref;
        }
        entries.push_back({key->expert, key->rest});
        continue;
      }
      // Fused layouts: experts.gate_up_proj [E, ...], gpt-oss experts.*_blocks [E, ...].
      if (declared && name.find(".experts.") != std::string_view::npos &&
          ref->info->shape.size() >= 3) {
        auto [module, param] = split_tensor_name(name);
        TensorRole role = role_of_param(param, module);
        if ((role == TensorRole::kWeight || role == TensorRole::kPackedWeight ||
             role == TensorRole::kWeightScale) &&
            ref->info->shape[0] != *declared) {
          out.add(*ref,
                  fmt::format("fused expert tensor has {} experts in dimension 0 but the config "
                              "declares {}",
                              ref->info->shape[0], *declared));
        }
      }
    }
    finish_layer();
    out.finish("incomplete expert layers");
  }

 private:
  template <typename Entries>
  static void report_layer(CappedEmitter& out, const std::string& prefix, const TensorRef& anchor,
                           const Entries& entries, std::optional<uint64_t> declared) {
    // Few distinct suffixes per layer: index them, and give each expert a bitmask of them.
    std::vector<std::string_view> suffixes;
    // (expert id, bitmask of suffix indices), sorted by id: an expert's names are neighbours,
    // so most entries extend the last pair.
    std::vector<std::pair<uint64_t, uint64_t>> experts;
    for (const auto& e : entries) {
      size_t k = std::find(suffixes.begin(), suffixes.end(), e.suffix) - suffixes.begin();
      if (k == suffixes.size()) {
        if (suffixes.size() == 64) continue;  // more kinds than any real layout; ignore the rest
        suffixes.push_back(e.suffix);
      }
      if (experts.empty() || experts.back().first != e.expert) experts.emplace_back(e.expert, 0);
      experts.back().second |= uint64_t{1} << k;
    }
    std::sort(experts.begin(), experts.end());
    size_t distinct = 0;  // ids that came in more than one run: their masks merged
    for (size_t i = 0; i < experts.size(); ++i) {
      if (distinct > 0 && experts[distinct - 1].first == experts[i].first) {
        experts[distinct - 1].second |= experts[i].second;
      } else {
        experts[distinct++] = experts[i];
      }
    }
    experts.resize(distinct);
    auto has_expert = [&](uint64_t id) {
      auto it = std::lower_bound(experts.begin(), experts.end(), std::pair<uint64_t, uint64_t>{id, 0});
      return it != experts.end() && it->first == id;
    };
    std::vector<size_t> frequency(suffixes.size(), 0);
    for (size_t k = 0; k < suffixes.size(); ++k) {
      for (const auto& [id, mask] : experts) frequency[k] += (mask >> k) & 1;
    }
    if (declared && experts.size() != *declared) {
      std::vector<uint64_t> missing;
      for (uint64_t e = 0; e < *declared && missing.size() < 12; ++e) {
        if (!has_expert(e)) missing.push_back(e);
      }
      out.add(
          anchor,
          fmt::format(
              "{} has {} experts but the config declares {}{}", prefix, experts.size(), *declared,
              missing.empty()
                  ? std::string()
                  : fmt::format(" (missing {}{})", fmt::join(missing, ", "),
                                experts.size() + missing.size() < *declared ? ", ..." : "")));
    }
    // Tensors most experts have but some lack.
    for (size_t k = 0; k < suffixes.size(); ++k) {
      std::string_view suffix = suffixes[k];
      size_t count = frequency[k];
      if (count * 2 <= experts.size() || count == experts.size()) continue;
      std::vector<uint64_t> lacking;
      for (const auto& [id, mask] : experts) {
        if (!((mask >> k) & 1)) lacking.push_back(id);
      }
      std::vector<uint64_t> shown(
          lacking.begin(),
          lacking.begin() + static_cast<long>(std::min<size_t>(12, lacking.size())));
      out.add(anchor, fmt::format("{}.{{{}}}.{} is missing (present in {} of {} experts){}", prefix,
                                  fmt::join(shown, ","), suffix, count, experts.size(),
                                  lacking.size() > shown.size()
                                      ? fmt::format(", {} experts lack it", lacking.size())
                                      : ""));
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_incomplete_experts_check() {
  return std::make_unique<IncompleteExpertsCheck>();
}

}  // namespace ckd

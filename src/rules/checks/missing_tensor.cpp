// A tensor the config's model class defines is absent (a layer's o_proj, an expert, a norm, the
// MTP layers the config declares, a vision tower): transformers leaves it randomly initialized,
// vLLM fails with "weights not initialized from checkpoint" or computes with garbage. A stack
// or layer missing as a whole is one finding; the rest are grouped by name pattern.
#include <map>
#include <set>

#include "checkpoint/architecture.h"
#include "rules/checks/architecture_groups.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

// "model.layers.12.mlp.down_proj.weight" -> ("model.layers.", 12); nullopt without a layer.
std::optional<std::pair<std::string, uint64_t>> layer_of(std::string_view name) {
  size_t at = 0;
  while ((at = name.find("layers.", at)) != std::string_view::npos) {
    if (at == 0 || name[at - 1] == '.') {
      size_t i = at + 7, start = i;
      uint64_t n = 0;
      while (i < name.size() && i - start < 9 && name[i] >= '0' && name[i] <= '9')
        n = n * 10 + static_cast<uint64_t>(name[i++] - '0');
      if (i > start && i < name.size() && name[i] == '.')
        return std::make_pair(std::string(name.substr(0, at + 7)), n);
    }
    at += 7;
  }
  return std::nullopt;
}

// 0,1,2,5 -> "0-2, 5"
std::string ranges(const std::set<uint64_t>& numbers) {
  std::string out;
  auto it = numbers.begin();
  while (it != numbers.end()) {
    uint64_t first = *it, last = *it;
    while (++it != numbers.end() && *it == last + 1) last = *it;
    if (!out.empty()) out += ", ";
    out += first == last ? std::to_string(first) : fmt::format("{}-{}", first, last);
  }
  return out;
}

class MissingTensorCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const ArchitectureDiff& diff = ctx.architecture_diff();
    if (!diff.modeled() || diff.missing.empty()) return;
    std::vector<char> is_missing(diff.expected.size(), 0);
    for (size_t i : diff.missing) is_missing[i] = 1;
    // Required tensors per stack and per (stack, layer), and how many of them are missing.
    struct Count {
      size_t expected = 0, missing = 0;
    };
    std::map<std::string, Count> stacks;
    std::map<std::tuple<std::string, std::string, uint64_t>, Count> layers;
    for (size_t i = 0; i < diff.expected.size(); ++i) {
      const ExpectedTensor& e = diff.expected[i];
      if (e.optional) continue;
      Count& s = stacks[std::string(e.stack)];
      ++s.expected;
      s.missing += is_missing[i];
      if (auto l = layer_of(e.name)) {
        Count& c = layers[{std::string(e.stack), l->first, l->second}];
        ++c.expected;
        c.missing += is_missing[i];
      }
    }
    CappedEmitter out(ctx, static_cast<size_t>(ctx.param("max_groups", 20)));
    std::set<std::string> whole_stacks;
    for (const auto& [stack, c] : stacks) {
      if (c.missing != c.expected || c.expected < 2) continue;
      whole_stacks.insert(stack);
      const ExpectedTensor* first = nullptr;
      for (size_t i : diff.missing)
        if (diff.expected[i].stack == stack) {
          first = &diff.expected[i];
          break;
        }
      out.add("", std::string(first->name),
              fmt::format("the whole {} stack is missing: {} tensors {} defines from config.json "
                          "(e.g. {} {})",
                          stack, with_commas(c.expected), diff.class_name, first->name,
                          shape_string(first->shape())));
    }
    // Whole layers, per stack and layer prefix.
    std::map<std::pair<std::string, std::string>, std::pair<std::set<uint64_t>, size_t>> whole;
    for (const auto& [key, c] : layers) {
      const auto& [stack, prefix, number] = key;
      if (whole_stacks.count(stack) || c.missing != c.expected) continue;
      auto& w = whole[{stack, prefix}];
      w.first.insert(number);
      w.second += c.expected;
    }
    for (const auto& [key, w] : whole) {
      out.add("", fmt::format("{}{}", key.second, *w.first.begin()),
              fmt::format("{} {} {}{}.* missing as a whole ({} tensors {} defines from config.json)",
                          key.first, w.first.size() == 1 ? "layer" : "layers", key.second,
                          w.first.size() == 1 ? std::to_string(*w.first.begin())
                                              : "{" + ranges(w.first) + "}",
                          with_commas(w.second), diff.class_name));
    }
    NameGrouper groups;
    for (size_t i : diff.missing) {
      const ExpectedTensor& e = diff.expected[i];
      const std::string stack(e.stack);
      if (whole_stacks.count(stack)) continue;
      if (auto l = layer_of(e.name); l && whole.count({stack, l->first}) &&
                                     whole[{stack, l->first}].first.count(l->second))
        continue;
      groups.add(std::string(e.name), shape_string(e.shape()) + " (" + e.size_names() + ")");
    }
    for (const NameGroup& g : groups.groups()) {
      std::string shape = g.key.substr(g.key.find('\n') + 1);
      out.add("", g.examples.front(),
              fmt::format("{} {}: {} {} missing ({}); {} defines it from config.json",
                          g.pattern, shape, with_commas(g.count),
                          g.count == 1 ? "tensor" : "tensors", examples_of(g, 3),
                          diff.class_name));
    }
    out.finish("groups of missing tensors");
  }
};

}  // namespace

std::unique_ptr<Check> make_missing_tensor_check() {
  return std::make_unique<MissingTensorCheck>();
}

}  // namespace ckd

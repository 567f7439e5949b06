// With --source: modules the source has and the quantized checkpoint lost (MTP heads, vision
// towers; FAILURES.md K1, C3), or the reverse, after the best prefix change is applied.
#include <map>
#include <stdexcept>

#include "checkpoint/key_map.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

// Groups keys by their leading segments up to the first numeric one: "mtp", "model.visual.blocks".
std::string group_of(const std::string& key) {
  std::string group;
  size_t pos = 0;
  for (int depth = 0; depth < 3; ++depth) {
    size_t dot = key.find('.', pos);
    std::string seg = key.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (seg.empty() || std::isdigit(static_cast<unsigned char>(seg[0])) || dot == std::string::npos) break;
    group += (group.empty() ? "" : ".") + seg;
    pos = dot + 1;
  }
  return group.empty() ? key : group;
}

class SourceModuleDiffCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    if (!ctx.source()) return;
    std::string direction = ctx.param("direction", std::string());
    if (direction != "missing" && direction != "extra") throw std::runtime_error("source-module-diff: bad direction");
    auto quantized = normalized_keys(ctx.checkpoint());
    auto source = normalized_keys(*ctx.source());
    auto change = best_prefix_change(quantized, source);
    std::unordered_map<std::string, std::string> mapped;
    for (const auto& [key, original] : quantized) {
      mapped.emplace(change ? apply_prefix_change(key, *change) : key, original);
    }
    const auto& from = direction == "missing" ? source : mapped;
    const auto& to = direction == "missing" ? mapped : source;
    std::map<std::string, std::pair<size_t, std::string>> groups;
    for (const auto& [key, original] : from) {
      if (to.count(key)) continue;
      auto& g = groups[group_of(key)];
      if (g.first++ == 0 || original < g.second) g.second = original;
    }
    for (const auto& [group, entry] : groups) {
      if (direction == "missing") {
        ctx.emit("", entry.second,
                 fmt::format("the source has {} tensor groups under \"{}.\" that the quantized checkpoint "
                             "lacks (e.g. {})",
                             with_commas(entry.first), group, entry.second));
      } else {
        const TensorRef* ref = ctx.checkpoint().find(entry.second);
        ctx.emit(*ref, fmt::format("{} tensor groups under \"{}.\" have no counterpart in the source",
                                   with_commas(entry.first), group));
      }
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_source_module_diff_check() { return std::make_unique<SourceModuleDiffCheck>(); }

}  // namespace ckd

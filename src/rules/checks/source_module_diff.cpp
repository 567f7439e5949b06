// With --source: modules the source has and the quantized checkpoint lost (MTP heads, vision
// towers; FAILURES.md K1, C3), or the reverse, after the best prefix change is applied.
#include <map>
#include <stdexcept>

#include "checkpoint/key_map.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

// Groups keys by their top-level module: "mtp", or "model.visual" under a generic wrapper.
std::string group_of(const std::string& key) {
  size_t first = key.find('.');
  if (first == std::string::npos) return key;
  std::string head = key.substr(0, first);
  if (head != "model" && head != "language_model" && head != "transformer" && head != "text_model")
    return head;
  size_t second = key.find('.', first + 1);
  return second == std::string::npos ? key : key.substr(0, second);
}

class SourceModuleDiffCheck : public Check {
 public:
  bool needs_source() const override { return true; }
  void run(const CheckContext& ctx) const override {
    if (!ctx.source()) return;
    std::string direction = ctx.param("direction", std::string());
    if (direction != "missing" && direction != "extra")
      throw std::runtime_error("source-module-diff: bad direction");
    const SourceDiff& diff = ctx.source_diff();
    const auto& source = diff.source;
    const auto& mapped = diff.quantized_mapped;
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
                 fmt::format(
                     "the source has {} tensors under \"{}.\" that the quantized checkpoint lacks "
                     "(e.g. {})",
                     with_commas(entry.first), group, entry.second));
      } else {
        const TensorRef* ref = ctx.checkpoint().find(entry.second);
        ctx.emit(*ref, fmt::format("{} tensors under \"{}.\" have no counterpart in the source",
                                   with_commas(entry.first), group));
      }
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_source_module_diff_check() {
  return std::make_unique<SourceModuleDiffCheck>();
}

}  // namespace ckd

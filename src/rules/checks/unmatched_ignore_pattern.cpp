// Ignore / exclude entries that match no module (FAILURES.md H1, H7): the list names split
// modules the shards hold fused, or another naming space, so what it meant to keep in high
// precision is treated as quantized.
#include <unordered_set>

#include "rules/checks/util.h"

namespace ckd {
namespace {

class UnmatchedIgnorePatternCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    const QuantScheme& scheme = ck.scheme();
    if (scheme.ignore.empty() || ck.modules().modules().empty()) return;
    // Modules and all their parents ("model.layers.0.self_attn" for ".q_proj").
    std::unordered_set<std::string> paths;
    std::unordered_set<std::string> linear_paths;
    for (const Module& m : ck.modules().modules()) {
      std::string path = m.path;
      if (m.is_linear()) linear_paths.insert(path);
      while (true) {
        if (!paths.insert(path).second) break;
        size_t dot = path.rfind('.');
        if (dot == std::string::npos) break;
        path.resize(dot);
      }
    }
    std::vector<std::string> unmatched;
    for (const NamePattern& p : scheme.ignore) {
      if (p.kind == NamePattern::Kind::kClass || !p.valid()) continue;
      bool hit = paths.count(p.text) > 0;
      if (!hit && p.kind != NamePattern::Kind::kExact) {
        for (const std::string& path : paths) {
          if (p.matches(path, linear_paths.count(path) > 0)) {
            hit = true;
            break;
          }
        }
      }
      if (!hit) unmatched.push_back(p.text);
    }
    if (unmatched.empty()) return;
    size_t shown = std::min<size_t>(unmatched.size(), 8);
    ctx.emit(scheme.source_file, "",
             fmt::format("{} of {} {} entries match no module in the shards: {}{}; the modules they "
                         "meant are matched under other names (fused or renamed modules?) and get "
                         "treated as quantized",
                         unmatched.size(), scheme.ignore.size(), scheme.ignore_key,
                         fmt::join(unmatched.begin(), unmatched.begin() + static_cast<long>(shown), ", "),
                         unmatched.size() > shown ? ", ..." : ""));
  }
};

}  // namespace

std::unique_ptr<Check> make_unmatched_ignore_pattern_check() {
  return std::make_unique<UnmatchedIgnorePatternCheck>();
}

}  // namespace ckd

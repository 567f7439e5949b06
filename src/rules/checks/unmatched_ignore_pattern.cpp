// Ignore / exclude entries that match no module (FAILURES.md H1, H7): the list names split
// modules the shards hold fused, or another naming space, so what it meant to keep in high
// precision is treated as quantized.
#include <algorithm>

#include "checkpoint/architecture.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

// An entry written for the layout the model class expects while the keys sit under another
// prefix: key-layout-mismatch reports the moved keys, and its fix rewrites both.
bool names_class_layout(const CheckContext& ctx, std::string_view entry) {
  const ArchitectureDiff& arch = ctx.architecture_diff();
  if (!arch.modeled()) return false;
  for (const LayoutChange& c : arch.layout) {
    if (entry.substr(0, c.to.size()) == c.to) return true;
  }
  return false;
}

class UnmatchedIgnorePatternCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    const QuantScheme& scheme = ck.scheme();
    if (scheme.ignore.empty() || ck.modules().modules().empty()) return;
    // Sorted module paths: a literal entry matches when some path equals it or starts with
    // it followed by '.', found with one binary search.
    std::vector<std::string_view> paths;
    paths.reserve(ck.modules().modules().size());
    for (const Module& m : ck.modules().modules()) paths.push_back(m.path);
    // The table lists modules in the order of their first tensor name, which is path order
    // nearly always (the names are sorted): a sort only when it is not.
    if (!std::is_sorted(paths.begin(), paths.end())) std::sort(paths.begin(), paths.end());
    auto covers = [&](std::string_view literal) {
      auto it = std::lower_bound(paths.begin(), paths.end(), literal);
      for (; it != paths.end() && it->substr(0, literal.size()) == literal; ++it) {
        if (it->size() == literal.size() || (*it)[literal.size()] == '.') return true;
      }
      return false;
    };
    // Recipes list lm_head by default; with tied embeddings there is none to match.
    const nlohmann::json* tie = ck.config_value("tie_word_embeddings");
    bool tied = !tie || (tie->is_boolean() && tie->get<bool>());
    bool has_lm_head = covers("lm_head") || ck.modules().find("language_model.lm_head");
    std::vector<std::string> unmatched;
    for (const NamePattern& p : scheme.ignore) {
      if (p.kind == NamePattern::Kind::kClass || !p.valid()) continue;
      if (tied && !has_lm_head && p.text.find("lm_head") != std::string::npos) continue;
      bool hit = false;
      if (p.is_literal()) {
        hit = covers(p.literal_stem());
      } else {
        for (const Module& m : ck.modules().modules()) {
          // A pattern may name a parent of the module ("model.layers.*.self_attn").
          std::string_view path = m.path;
          while (!hit) {
            hit = p.matches(path, m.is_linear());
            size_t dot = path.rfind('.');
            if (dot == std::string_view::npos) break;
            path = path.substr(0, dot);
          }
          if (hit) break;
        }
      }
      if (!hit && !names_class_layout(ctx, p.text)) unmatched.push_back(p.text);
    }
    if (unmatched.empty()) return;
    size_t shown = std::min<size_t>(unmatched.size(), 8);
    ctx.emit(scheme.source_file, "",
             fmt::format(
                 "{} of {} {} entries match no module in the shards: {}{}; the modules they "
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

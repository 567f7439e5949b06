// --strip-prefix PREFIX removes the first occurrence of PREFIX from every tensor name (and from
// the module names of the quantization config's ignore lists). --strip-prefix auto takes the
// change from the scan's diagnosis: with --source, the prefix rewrite that maps the keys onto
// the source's (key-prefix-mismatch); without, the prefix the config's model class expects
// (key-layout-mismatch, src/checkpoint/architecture.h), and for a class no family file
// describes, every wrapper segment written twice in a row collapses to one (repeated-prefix,
// FAILURES.md B2).
#include <fmt/format.h>

#include "checkpoint/architecture.h"
#include "checkpoint/key_map.h"
#include "fix/fix.h"
#include "rules/rule_set.h"

namespace ckd {
namespace {

// "a.b." as it appears inside an re: pattern of an ignore list.
std::string regex_escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '.') out += '\\';
    out += c;
  }
  return out;
}

std::string strip_first(const std::string& text, const std::string& prefix) {
  size_t at = text.find(prefix);
  if (at == std::string::npos) return text;
  return text.substr(0, at) + text.substr(at + prefix.size());
}

std::vector<std::string> wrapper_segments() {
  static const RuleSet rules = RuleSet::builtin();
  std::vector<std::string> out;
  if (const Rule* r = rules.find("repeated-prefix")) {
    for (const auto& s : r->params.value("segments", nlohmann::json::array()))
      out.push_back(s.get<std::string>());
  }
  return out;
}

class StripPrefixFix : public Fix {
 public:
  const char* name() const override { return "strip-prefix"; }
  std::vector<std::string> repairs() const override {
    return {"repeated-prefix", "key-prefix-mismatch", "key-layout-mismatch"};
  }
  bool requested(const FixOptions& o) const override { return !o.strip_prefixes.empty(); }
  void enable(FixOptions& o) const override {
    if (o.strip_prefixes.empty()) o.strip_prefixes.push_back("auto");
  }

  void apply(FixContext& ctx) const override {
    for (const std::string& prefix : ctx.options.strip_prefixes) {
      if (prefix == "auto") {
        apply_auto(ctx);
      } else {
        if (prefix.empty()) throw FixError("--strip-prefix needs a non-empty prefix");
        ctx.plan.rename_tensors(fmt::format("strip-prefix {}", prefix), "repeated-prefix",
                                [&](const std::string& n) { return strip_first(n, prefix); });
        std::string escaped = regex_escaped(prefix);
        edit_quantization_config_strings(ctx.checkpoint, ctx.plan, [&](const std::string& s) {
          return strip_first(strip_first(s, prefix), escaped);
        });
      }
    }
  }

 private:
  void apply_auto(FixContext& ctx) const {
    if (ctx.source) {
      SourceDiff diff = diff_against_source(ctx.checkpoint, *ctx.source);
      if (diff.change && diff.change->count > 0) {
        const PrefixChange change = *diff.change;
        auto rewrite = [&](const std::string& n) {
          return n.starts_with(change.from) ? change.to + n.substr(change.from.size()) : n;
        };
        ctx.plan.rename_tensors(fmt::format("strip-prefix auto (\"{}\" -> \"{}\", from --source)",
                                            change.from, change.to),
                                "key-prefix-mismatch", rewrite);
        edit_quantization_config_strings(ctx.checkpoint, ctx.plan, rewrite);
        return;
      }
    }
    const ArchitectureDiff arch = diff_against_architecture(ctx.checkpoint);
    if (arch.modeled() && !arch.layout.empty()) {
      const std::vector<LayoutChange> layout = arch.layout;
      auto to_class = [layout](const std::string& n) { return apply_layout(n, layout); };
      std::string changes;
      for (const LayoutChange& c : layout)
        changes += fmt::format("{}\"{}\" -> \"{}\"", changes.empty() ? "" : ", ", c.from, c.to);
      ctx.plan.rename_tensors(
          fmt::format("strip-prefix auto ({}, the layout {} expects)", changes, arch.class_name),
          "key-layout-mismatch", to_class);
      edit_quantization_config_strings(ctx.checkpoint, ctx.plan, to_class);
      return;
    }
    const std::vector<std::string> segments = wrapper_segments();
    auto collapse = [&](const std::string& n) { return collapse_repeated_segments(n, segments); };
    ctx.plan.rename_tensors("strip-prefix auto (repeated wrapper segments)", "repeated-prefix",
                            collapse);
    edit_quantization_config_strings(ctx.checkpoint, ctx.plan, collapse);
  }
};

}  // namespace

std::unique_ptr<Fix> make_strip_prefix_fix() {
  return std::make_unique<StripPrefixFix>();
}

}  // namespace ckd

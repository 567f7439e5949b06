// --rename FROM=TO: an RE2 substitution (first match, \1 for groups) on every tensor name, for
// the naming drifts of FAILURES.md (weight_scale_inv <-> weight_scale, legacy KV-scale names).
// Configs are left alone: the pattern is written for tensor names, not module names.
#include <fmt/format.h>
#include <re2/re2.h>

#include "fix/fix.h"

namespace ckd {
namespace {

class RenameFix : public Fix {
 public:
  const char* name() const override { return "rename"; }
  std::vector<std::string> repairs() const override { return {}; }  // explicit only
  bool requested(const FixOptions& o) const override { return !o.renames.empty(); }
  void enable(FixOptions&) const override {}

  void apply(FixContext& ctx) const override {
    for (const auto& rename : ctx.options.renames) {
      const std::string& from = rename.first;
      const std::string& to = rename.second;  // a named reference: lambdas capture it (clang 14)
      RE2::Options quiet;
      quiet.set_log_errors(false);
      RE2 pattern(from, quiet);
      if (!pattern.ok())
        throw FixError(
            fmt::format("--rename {}={}: invalid pattern: {}", from, to, pattern.error()));
      std::string why;
      if (!pattern.CheckRewriteString(to, &why))
        throw FixError(fmt::format("--rename {}={}: invalid replacement: {}", from, to, why));
      ctx.plan.rename_tensors(fmt::format("rename {} -> {}", from, to), "",
                              [&](const std::string& name) {
                                std::string after = name;
                                RE2::Replace(&after, pattern, to);
                                return after;
                              });
    }
  }
};

}  // namespace

std::unique_ptr<Fix> make_rename_fix() {
  return std::make_unique<RenameFix>();
}

}  // namespace ckd

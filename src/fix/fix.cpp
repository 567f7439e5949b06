#include "fix/fix.h"

#include <set>

namespace ckd {

std::unique_ptr<Fix> make_strip_prefix_fix();
std::unique_ptr<Fix> make_rename_fix();
std::unique_ptr<Fix> make_drop_tied_lm_head_fix();
std::unique_ptr<Fix> make_inject_input_scale_fix();
std::unique_ptr<Fix> make_normalize_headers_fix();
std::unique_ptr<Fix> make_regenerate_index_fix();

const std::vector<std::unique_ptr<Fix>>& builtin_fixes() {
  static const std::vector<std::unique_ptr<Fix>> fixes = [] {
    std::vector<std::unique_ptr<Fix>> v;
    v.push_back(make_strip_prefix_fix());
    v.push_back(make_rename_fix());
    v.push_back(make_drop_tied_lm_head_fix());
    v.push_back(make_inject_input_scale_fix());
    v.push_back(make_normalize_headers_fix());
    v.push_back(make_regenerate_index_fix());
    return v;
  }();
  return fixes;
}

FixOptions options_for_findings(const FixOptions& options, const std::vector<Finding>& findings) {
  std::set<std::string> fired;
  for (const Finding& f : findings) fired.insert(f.name);
  FixOptions out = options;
  for (const auto& fix : builtin_fixes()) {
    if (fix->unsafe()) continue;
    for (const std::string& rule : fix->repairs()) {
      if (fired.count(rule)) {
        fix->enable(out);
        break;
      }
    }
  }
  return out;
}

FixPlan plan_fixes(const Checkpoint& ck, const Checkpoint* source, const FixOptions& options) {
  FixPlan plan = initial_plan(ck);
  FixContext ctx{ck, source, options, plan};
  for (const auto& fix : builtin_fixes()) {
    if (fix->requested(options)) fix->apply(ctx);
  }
  finish_plan(ck, plan);
  return plan;
}

}  // namespace ckd

// A module the ignore / exclude list keeps in high precision is quantized anyway (FAILURES.md
// H2-H5): loaders build it unquantized and fail on its scales, or read FP8 bytes as BF16.
#include "rules/checks/util.h"

namespace ckd {
namespace {

class QuantizedIgnoredModuleCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    const QuantScheme& scheme = ck.scheme();
    if (scheme.method == QuantMethod::kNone || scheme.method == QuantMethod::kUnknown) return;
    CappedEmitter out(ctx, 25);
    for (const Module& m : ck.modules().modules()) {
      if (!m.is_quantized()) continue;
      const NamePattern* p = m.ignored;
      if (!p) continue;
      std::vector<std::string> evidence;
      if (const ModuleParam* w = m.weight(); w && w->ref->info->dtype) {
        evidence.push_back(fmt::format("{} is {}",
                                       w->name.empty() ? std::string_view(m.path) : w->name,
                                       dtype_name(*w->ref->info->dtype)));
      }
      for (const auto& prm : m.params) {
        if (is_scale_role(prm.role) && prm.role != TensorRole::kKvScale)
          evidence.push_back(fmt::format("has {}", prm.name));
      }
      out.add(module_anchor(m),
              fmt::format(
                  "module {} matches {} entry \"{}\" but is quantized ({}); loaders build it in "
                  "high precision and fail on (or misread) these tensors",
                  m.path, scheme.ignore_key, p->text, fmt::join(evidence, ", ")));
    }
    out.finish("quantized modules on the ignore list");
  }
};

}  // namespace

std::unique_ptr<Check> make_quantized_ignored_module_check() {
  return std::make_unique<QuantizedIgnoredModuleCheck>();
}

}  // namespace ckd

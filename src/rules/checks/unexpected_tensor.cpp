// Tensors that neither the config's model class nor a quantization format defines (optimizer
// state, leftover export sidecars, another model's weights): loaders ignore them or fail with
// "unexpected key". Grouped by name pattern.
#include "rules/checks/architecture_groups.h"
#include "checkpoint/architecture.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

class UnexpectedTensorCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const ArchitectureDiff& diff = ctx.architecture_diff();
    if (!diff.modeled() || diff.unexpected.empty()) return;
    NameGrouper groups;
    for (const std::string& name : diff.unexpected) groups.add(name);
    CappedEmitter out(ctx, static_cast<size_t>(ctx.param("max_groups", 20)));
    for (const NameGroup& g : groups.groups()) {
      const TensorRef* ref = ctx.checkpoint().find(g.examples.front());
      std::string message =
          fmt::format("{}: {} {} that {} does not define and no quantization format writes ({})",
                      g.pattern, with_commas(g.count), g.count == 1 ? "tensor" : "tensors",
                      diff.class_name, examples_of(g, 2));
      if (ref) {
        out.add(*ref, std::move(message));
      } else {
        out.add("", g.examples.front(), std::move(message));
      }
    }
    out.finish("groups of unexpected tensors");
  }
};

}  // namespace

std::unique_ptr<Check> make_unexpected_tensor_check() {
  return std::make_unique<UnexpectedTensorCheck>();
}

}  // namespace ckd

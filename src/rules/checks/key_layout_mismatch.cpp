// The keys sit under a prefix the config's model class does not expect (an extra
// "language_model." level, a missing "model." level, a text-only class given multimodal names):
// vLLM raises KeyError on the first such key, transformers re-initializes every weight.
// `fix --strip-prefix auto` (and --apply-safe) moves them to the expected prefix.
#include "checkpoint/architecture.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

class KeyLayoutMismatchCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const ArchitectureDiff& diff = ctx.architecture_diff();
    if (!diff.modeled()) return;
    for (const LayoutChange& c : diff.layout) {
      const TensorRef* ref = ctx.checkpoint().find(c.example);
      std::string message = fmt::format(
          "{} {} tensors sit under \"{}\" but {} expects \"{}\" (e.g. {} -> {}); vLLM raises "
          "KeyError on them and transformers re-initializes the weights; fix: ckptdoctor fix "
          "--strip-prefix auto",
          with_commas(c.count), c.stack, c.from, diff.class_name, c.to, c.example,
          apply_layout(c.example, {c}));
      if (ref) {
        ctx.emit(*ref, std::move(message));
      } else {
        ctx.emit("", c.example, std::move(message));
      }
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_key_layout_mismatch_check() {
  return std::make_unique<KeyLayoutMismatchCheck>();
}

}  // namespace ckd

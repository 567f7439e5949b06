// tie_word_embeddings against the presence of lm_head (FAILURES.md J1, J2).
#include <stdexcept>

#include "checkpoint/architecture.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

class LmHeadTyingCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    const nlohmann::json* tie = ck.config_value("tie_word_embeddings");
    if (!tie || !tie->is_boolean() || ck.tensor_names().empty()) return;
    auto [head, has_embedding] = find_output_head(ck.modules());
    std::string mode = ctx.param("mode", std::string());
    if (mode == "redundant") {
      if (!tie->get<bool>() || !head) return;
      ctx.emit(
          module_anchor(*head),
          fmt::format(
              "tie_word_embeddings is true but {} is stored{}; loaders skip it or fail on it: "
              "drop it, or set tie_word_embeddings to false",
              head->path,
              head->is_quantized() ? " quantized (a tied head must not differ from the embedding)"
                                   : ""));
    } else if (mode == "missing") {
      if (tie->get<bool>() || head || !has_embedding) return;
      // missing-tensor names lm_head.weight with its shape when the class is modeled.
      const ArchitectureDiff& arch = ctx.architecture_diff();
      if (arch.modeled() && arch.missing_with("lm_head.")) return;
      ctx.emit(
          "config.json", "",
          "tie_word_embeddings is false but there is no lm_head weight; loaders leave the output "
          "projection uninitialized: set tie_word_embeddings to true or add lm_head.weight");
    } else {
      throw std::runtime_error("lm-head-tying: unknown mode " + mode);
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_lm_head_tying_check() {
  return std::make_unique<LmHeadTyingCheck>();
}

}  // namespace ckd

// --drop-tied-lm-head: tie_word_embeddings is true, so loaders take the output projection from
// the embedding and a stored lm_head is at best dead weight, at worst a load error (FAILURES.md
// J1). Dropped only while an embedding is there to tie to, so no weight is lost.
#include <fmt/format.h>

#include "fix/fix.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

class DropTiedLmHeadFix : public Fix {
 public:
  const char* name() const override { return "drop-tied-lm-head"; }
  std::vector<std::string> repairs() const override { return {"redundant-lm-head"}; }
  bool requested(const FixOptions& o) const override { return o.drop_tied_lm_head; }
  void enable(FixOptions& o) const override { o.drop_tied_lm_head = true; }

  void apply(FixContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint;
    const nlohmann::json* tie = ck.config_value("tie_word_embeddings");
    if (!tie || !tie->is_boolean() || !tie->get<bool>()) return;
    const OutputHead output = find_output_head(ck.modules());
    const Module* head = output.head;  // a named variable: lambdas capture it (clang 14)
    if (!head || !output.has_embedding) return;
    FixSummary& summary =
        ctx.plan.summary(name(), "redundant-lm-head", "tied lm_head tensors dropped");
    ctx.plan.for_each_tensor([&](OutputShard&, OutputTensor& t) {
      if (!t.source) return;
      for (const ModuleParam& p : head->params) {
        if (p.ref->info != t.source) continue;
        summary.add(fmt::format("{} ({} {}, {} bytes)", t.name, dtype_name(t.dtype),
                                shape_string(t.shape), with_commas(t.nbytes())));
        t.dropped = true;
      }
    });
  }
};

}  // namespace

std::unique_ptr<Fix> make_drop_tied_lm_head_fix() {
  return std::make_unique<DropTiedLmHeadFix>();
}

}  // namespace ckd

// A tensor's shape disagrees with what the config implies (vocab, hidden, heads, KV heads,
// head_dim, intermediate and expert sizes): transformers raises "size mismatch for
// model.embed_tokens.weight", vLLM an assertion in its weight loader. Quantized weights are
// compared by their logical shape (the packed dim times the elements per stored element).
#include "rules/checks/architecture_groups.h"
#include "checkpoint/architecture.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

class ShapeMismatchCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const ArchitectureDiff& diff = ctx.architecture_diff();
    if (!diff.modeled() || diff.shapes.empty()) return;
    NameGrouper groups;
    std::vector<const ShapeMismatch*> first;  // per group
    for (const ShapeMismatch& m : diff.shapes) {
      size_t before = groups.groups().size();
      groups.add(m.tensor, shape_string(m.actual) + " vs " + shape_string(m.expected));
      if (groups.groups().size() > before) first.push_back(&m);
    }
    CappedEmitter out(ctx, static_cast<size_t>(ctx.param("max_groups", 20)));
    for (size_t i = 0; i < groups.groups().size(); ++i) {
      const NameGroup& g = groups.groups()[i];
      const ShapeMismatch& m = *first[i];
      const TensorRef* ref = ctx.checkpoint().find(m.tensor);
      std::string message = fmt::format(
          "{}shape {} but {} expects {} ({}){}{}", m.packed ? "quantized weight's stored " : "",
          shape_string(m.actual), diff.class_name, shape_string(m.expected), m.size_names,
          m.packed ? " as its logical shape" : "",
          g.count > 1 ? fmt::format("; {} tensors like {}", with_commas(g.count), g.pattern)
                      : std::string());
      if (ref) {
        out.add(*ref, std::move(message));
      } else {
        out.add("", m.tensor, std::move(message));
      }
    }
    out.finish("groups of shape mismatches");
  }
};

}  // namespace

std::unique_ptr<Check> make_shape_mismatch_check() {
  return std::make_unique<ShapeMismatchCheck>();
}

}  // namespace ckd

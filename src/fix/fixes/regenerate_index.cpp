// --regenerate-index: write model.safetensors.index.json from the shard headers: every tensor
// of every shard in the weight_map, total_size the sum of their byte sizes (FAILURES.md I2-I4).
// Lossless: the headers are the truth a loader reads the bytes by.
#include "fix/fix.h"

namespace ckd {
namespace {

class RegenerateIndexFix : public Fix {
 public:
  const char* name() const override { return "regenerate-index"; }
  std::vector<std::string> repairs() const override {
    return {"index-tensor-mismatch", "index-total-size", "invalid-index", "missing-index"};
  }
  bool requested(const FixOptions& o) const override { return o.regenerate_index; }
  void enable(FixOptions& o) const override { o.regenerate_index = true; }
  void apply(FixContext& ctx) const override { ctx.plan.regenerate_index = true; }
};

}  // namespace

std::unique_ptr<Fix> make_regenerate_index_fix() {
  return std::make_unique<RegenerateIndexFix>();
}

}  // namespace ckd

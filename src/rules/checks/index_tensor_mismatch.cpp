// The index and the shard headers must agree: every weight_map entry is in the shard it names,
// and every shard tensor is in the weight_map (FAILURES.md I2).
#include <unordered_map>

#include "rules/checks/util.h"

namespace ckd {
namespace {

class IndexTensorMismatchCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    if (!ck.index()) return;
    constexpr const char* kIndex = "model.safetensors.index.json";
    CappedEmitter out(ctx, static_cast<size_t>(ctx.param("max_findings", 25.0)));
    std::unordered_map<std::string_view, std::string_view> mapped;
    mapped.reserve(ck.index()->weight_map.size());
    for (const auto& [tensor, shard_name] : ck.index()->weight_map) {
      mapped[tensor] = shard_name;
      const Shard* shard = ck.shard(shard_name);
      if (!shard || !shard->header_ok()) continue;  // reported by the shard's own rules
      if (shard->find(tensor)) continue;
      const TensorRef* actual = ck.find(tensor);
      if (actual) {
        out.add(kIndex, tensor, fmt::format("index maps it to {} but it is stored in {}", shard_name,
                                            actual->shard->display_name()));
      } else {
        out.add(kIndex, tensor, fmt::format("index maps it to {} but no shard holds it", shard_name));
      }
    }
    for (const auto& shard : ck.shards()) {
      for (const TensorInfo& t : shard->tensors()) {
        if (t.duplicate || mapped.count(t.name)) continue;
        out.add(shard->display_name(), t.name,
                "stored in this shard but missing from the index; loaders that follow the index never read it");
      }
    }
    out.finish("index/shard disagreements");
  }
};

}  // namespace

std::unique_ptr<Check> make_index_tensor_mismatch_check() {
  return std::make_unique<IndexTensorMismatchCheck>();
}

}  // namespace ckd

// The index and the shard headers must agree: every weight_map entry is in the shard it names,
// and every shard tensor is in the weight_map (FAILURES.md I2).
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "rules/checks/util.h"

namespace ckd {
namespace {

class IndexTensorMismatchCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    if (!ck.index()) return;
    CappedEmitter out(ctx, static_cast<size_t>(ctx.param("max_findings", 25.0)));
    const IndexFile& index = *ck.index();
    std::vector<const Shard*> shards;
    for (const std::string& name : index.shard_names) shards.push_back(ck.shard(name));
    std::unordered_map<const Shard*, size_t> found_in;  // index entries each shard holds
    for (size_t i = 0; i < index.size(); ++i) {
      std::string_view tensor = index.tensor(i);
      const Shard* shard = shards[index.entries[i].shard];
      if (!shard || !shard->header_ok()) continue;  // reported by the shard's own rules
      if (shard->find(tensor)) {
        ++found_in[shard];
        continue;
      }
      const TensorRef* actual = ck.find(tensor);
      if (actual) {
        out.add(kIndexFileName, std::string(tensor),
                fmt::format("index maps it to {} but it is stored in {}", index.shard_of(i),
                            actual->shard->display_name()));
      } else {
        out.add(kIndexFileName, std::string(tensor),
                fmt::format("index maps it to {} but no shard holds it", index.shard_of(i)));
      }
    }
    // A shard whose every tensor was found through the index needs no reverse check.
    bool duplicate_keys = std::any_of(
        ck.problems().begin(), ck.problems().end(),
        [](const LoadProblem& p) { return p.kind == LoadProblemKind::kDuplicateIndexKey; });
    std::unordered_set<std::string_view> mapped;
    for (const auto& shard : ck.shards()) {
      size_t distinct = 0;
      for (const TensorInfo& t : shard->tensors()) distinct += !t.duplicate;
      if (!duplicate_keys && found_in[shard.get()] == distinct) continue;
      if (mapped.empty()) {
        for (size_t i = 0; i < index.size(); ++i) mapped.insert(index.tensor(i));
      }
      for (const TensorInfo& t : shard->tensors()) {
        if (t.duplicate || mapped.count(t.name)) continue;
        out.add(shard->display_name(), t.name,
                "stored in this shard but missing from the index; loaders that follow the index "
                "never read it");
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

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
    // Index entries each shard name holds. Writers list the weight_map sorted, so each shard's
    // entries usually ascend: a cursor into the shard's sorted names then finds each one with
    // a merge step instead of a binary search. An entry that does not ascend is looked up with
    // find(); both give the first name not less than the entry's.
    std::vector<size_t> found_per_name(shards.size(), 0);
    std::vector<size_t> cursor(shards.size(), 0);
    std::vector<std::string_view> last(shards.size());
    for (size_t i = 0; i < index.size(); ++i) {
      std::string_view tensor = index.tensor(i);
      const uint32_t k = index.entries[i].shard;
      const Shard* shard = shards[k];
      if (!shard || !shard->header_ok()) continue;  // reported by the shard's own rules
      bool found;
      const std::vector<uint32_t>& order = shard->by_name();
      const std::vector<TensorInfo>& tensors = shard->tensors();
      size_t& c = cursor[k];
      // The commonest case, one comparison: the name after the cursor's (the cursor rests on
      // the previous entry's name) is the entry's. The cursor's name is never less than
      // last[k], so that entry ascends, and the merge below would have stopped there too.
      if (c + 1 < order.size() && tensors[order[c + 1]].name == tensor &&
          tensors[order[c]].name != tensor) {
        found = true;
        ++c;
        last[k] = tensor;
      } else if (tensor >= last[k]) {
        while (c < order.size() && tensors[order[c]].name < tensor) ++c;
        found = c < order.size() && tensors[order[c]].name == tensor;
        last[k] = tensor;
      } else {
        found = shard->find(tensor) != nullptr;
      }
      if (found) {
        ++found_per_name[k];
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
    std::unordered_map<const Shard*, size_t> found_in;  // two names may resolve to one shard
    for (size_t k = 0; k < shards.size(); ++k) {
      if (found_per_name[k] > 0) found_in[shards[k]] += found_per_name[k];
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
        out.add(shard->display_name(), std::string(t.name),
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

// metadata.total_size must equal the tensor bytes of the shards (FAILURES.md I4).
#include <cmath>

#include "rules/checks/util.h"

namespace ckd {
namespace {

class IndexTotalSizeCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    if (!ck.index() || !ck.index()->total_size_present) return;
    for (const LoadProblem& p : ck.problems()) {
      if (p.kind == LoadProblemKind::kMissingShard || p.kind == LoadProblemKind::kUnsafePath ||
          p.kind == LoadProblemKind::kUnreadableShard) {
        return;  // the sum would be wrong for another reason, already reported
      }
    }
    uint64_t bytes = 0;
    for (const auto& shard : ck.shards()) {
      for (const TensorInfo& t : shard->tensors()) {
        if (!t.duplicate) bytes += t.nbytes();
      }
    }
    const auto& declared = ck.index()->total_size;
    if (!declared) {
      ctx.emit(kIndexFileName, "", "metadata.total_size is not a number");
      return;
    }
    double diff = *declared - static_cast<double>(bytes);
    if (std::fabs(diff) > ctx.param("tolerance_bytes", 0.0)) {
      ctx.emit(kIndexFileName, "",
               fmt::format("metadata.total_size is {} but the shards hold {} tensor bytes ({}{}); "
                           "regenerate the index",
                           with_commas(static_cast<uint64_t>(std::max(0.0, *declared))),
                           with_commas(bytes), diff > 0 ? "+" : "-",
                           with_commas(static_cast<uint64_t>(std::fabs(diff)))));
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_index_total_size_check() {
  return std::make_unique<IndexTotalSizeCheck>();
}

}  // namespace ckd

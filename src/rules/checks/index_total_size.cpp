// metadata.total_size must equal the tensor bytes of the shards (FAILURES.md I4).
#include <cmath>

#include "io/checked.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

// huggingface_hub sums each tensor's whole storage into total_size (serialization/_base.py
// split_state_dict_into_shards_factory with get_torch_storage_size), and block-FP8 producers
// (llmcompressor, modelopt) quantize a copy padded to whole blocks and save a slice of it. So a
// healthy block-FP8 index may exceed the tensor bytes by up to the padding of those weights (in
// fixtures/producers ct-fp8-block and mo-fp8-block by exactly the padding of k_proj and v_proj).
uint64_t block_padding_bytes(const Checkpoint& ck) {
  uint64_t total = 0;
  for (const Module& m : ck.modules().modules()) {
    if (!m.group || m.group->format != WeightFormat::kFp8Block || !m.group->block) continue;
    const ModuleParam* w = m.weight();
    if (!w || !w->ref->info->shape_valid || w->ref->info->shape.size() != 2) continue;
    const TensorInfo& t = *w->ref->info;
    uint64_t rows = t.shape[0], cols = t.shape[1];
    uint64_t bn = (*m.group->block)[0], bk = (*m.group->block)[1];
    auto padded_rows = checked_mul(ceil_div(rows, bn), bn);
    auto padded_cols = checked_mul(ceil_div(cols, bk), bk);
    if (!padded_rows || !padded_cols) continue;
    auto padded = checked_mul(*padded_rows, *padded_cols);
    if (!padded || *padded < t.numel) continue;
    auto sum = checked_add(total, *padded - t.numel);  // F8_E4M3: one byte an element
    if (!sum) continue;
    total = *sum;
  }
  return total;
}

// GPTQModel sums the bytes it writes to each shard file, the 8-byte length and the JSON header
// included (gptqmodel/utils/model.py streaming_state_dict_to_shards adds _write_shard_file's
// return, the whole file), so its healthy index declares the shards' file sizes.
uint64_t shard_file_bytes(const Checkpoint& ck) {
  uint64_t total = 0;
  for (const auto& shard : ck.shards()) {
    auto sum = checked_add(total, shard->file_size());
    if (!sum) return 0;
    total = *sum;
  }
  return total;
}

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
    if (diff > 0 && diff <= static_cast<double>(block_padding_bytes(ck))) return;
    if (*declared == static_cast<double>(shard_file_bytes(ck))) return;
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

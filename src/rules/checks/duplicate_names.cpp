// A tensor name that appears twice: inside one header, in two shards, or twice in the index.
#include "rules/checks/util.h"

namespace ckd {
namespace {

class DuplicateNamesCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    for (const auto& shard : ck.shards()) {
      for (const ShardIssue& issue : shard->issues()) {
        if (issue.kind != ShardIssueKind::kDuplicateTensorName) continue;
        if (issue.omitted) {
          ctx.emit_omitted(shard->display_name(), issue.omitted, issue.message);
        } else {
          ctx.emit(shard->display_name(), issue.tensor, issue.message);
        }
      }
    }
    CappedEmitter out(ctx, 20);
    for (const auto& [name, holders] : ck.cross_shard_duplicates()) {
      std::vector<std::string> files;
      for (const Shard* s : holders) files.push_back(s->display_name());
      out.add(holders[1]->display_name(), name,
              fmt::format("also stored in {}; loaders keep whichever shard they read last",
                          fmt::join(files.begin(), files.end() - 1, ", ")));
    }
    out.finish("tensors stored in more than one shard");
    for (const LoadProblem& p : ck.problems()) {
      if (p.kind == LoadProblemKind::kDuplicateIndexKey) ctx.emit(p.file, p.tensor, p.message);
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_duplicate_names_check() {
  return std::make_unique<DuplicateNamesCheck>();
}

}  // namespace ckd

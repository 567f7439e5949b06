// Problems met while opening the checkpoint: unreadable configs and index, shard names that
// leave the directory, shards that do not exist or cannot be read.
#include <map>
#include <stdexcept>

#include "rules/checks/util.h"

namespace ckd {
namespace {

class LoadProblemsCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    static const std::map<std::string, LoadProblemKind> kKinds = {
        {"invalid-config", LoadProblemKind::kInvalidConfig},
        {"invalid-index", LoadProblemKind::kInvalidIndex},
        {"unsafe-path", LoadProblemKind::kUnsafePath},
        {"missing-shard", LoadProblemKind::kMissingShard},
        {"unreadable", LoadProblemKind::kUnreadableShard},
    };
    std::string which = ctx.param("problem", std::string());
    auto it = kKinds.find(which);
    if (it == kKinds.end())
      throw std::runtime_error("load-problems: unknown problem kind " + which);
    const Checkpoint& ck = ctx.checkpoint();
    std::vector<const LoadProblem*> missing;
    for (const LoadProblem& p : ck.problems()) {
      if (p.kind != it->second) continue;
      if (p.kind == LoadProblemKind::kMissingShard) {
        missing.push_back(&p);
      } else {
        ctx.emit(p.file, p.tensor, p.message);
      }
    }
    if (missing.empty()) return;
    auto tensors_in = [&](const std::string& shard) {
      size_t n = 0;
      for (size_t i = 0; i < ck.index()->size(); ++i) n += ck.index()->shard_of(i) == shard;
      return n;
    };
    constexpr size_t kListed = 3;
    if (missing.size() <= kListed) {
      for (const LoadProblem* p : missing) {
        size_t n = tensors_in(p->file);
        ctx.emit(kIndexFileName, "",
                 fmt::format("weight_map names {} ({} {}) but the file does not exist; download "
                             "it again",
                             p->file, with_commas(n), n == 1 ? "tensor" : "tensors"));
      }
      return;
    }
    std::vector<std::string> names;
    for (size_t i = 0; i < kListed; ++i) names.push_back(missing[i]->file);
    ctx.emit(
        kIndexFileName, "",
        fmt::format("{} shards named by weight_map do not exist ({}, ...); download them again",
                    missing.size(), fmt::join(names, ", ")));
  }
};

}  // namespace

std::unique_ptr<Check> make_load_problems_check() {
  return std::make_unique<LoadProblemsCheck>();
}

}  // namespace ckd

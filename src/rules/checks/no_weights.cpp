// A checkpoint without a single tensor: an empty directory, a config.json alone (a failed or
// partial download), or safetensors files whose headers list nothing. A scan that finds nothing
// to check must not read as a pass. Silent when another finding already explains the absence
// (a shard the index names but that is missing, unreadable or unsafe; a header that does not
// parse): those rules report it file by file.
#include <algorithm>

#include "rules/checks/util.h"

namespace ckd {
namespace {

bool explained_elsewhere(const Checkpoint& ck) {
  bool bad_shard = std::any_of(ck.shards().begin(), ck.shards().end(),
                               [](const auto& s) { return !s->loadable(); });
  bool file_problem =
      std::any_of(ck.problems().begin(), ck.problems().end(), [](const LoadProblem& p) {
        return p.kind == LoadProblemKind::kMissingShard ||
               p.kind == LoadProblemKind::kUnreadableShard ||
               p.kind == LoadProblemKind::kUnsafePath || p.kind == LoadProblemKind::kInvalidIndex;
      });
  return bad_shard || file_problem;
}

class NoWeightsCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    if (!ck.tensor_names().empty() || explained_elsewhere(ck)) return;
    if (ck.shards().empty()) {
      ctx.emit("", "",
               "no .safetensors file: there are no weights to load or check (an interrupted "
               "download, or the wrong directory?)");
    } else {
      size_t n = ck.shards().size();
      ctx.emit("", "",
               fmt::format("{} safetensors {} but no tensor in {}: there are no weights to load "
                           "or check",
                           n, n == 1 ? "file" : "files", n == 1 ? "it" : "any of them"));
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_no_weights_check() {
  return std::make_unique<NoWeightsCheck>();
}

}  // namespace ckd

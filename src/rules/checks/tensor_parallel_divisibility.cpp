// Which tensor-parallel sizes (1, 2, 4, 8) the config's heads, KV heads, intermediate sizes and
// quantization blocks allow: vLLM fails to start ("... is not divisible by weight quantization
// block_n", "Total number of attention heads must be divisible by tensor parallel size") on the
// others. Said only when some size is ruled out.
#include "checkpoint/architecture.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

class TensorParallelDivisibilityCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const ArchitectureDiff& diff = ctx.architecture_diff();
    if (!diff.modeled()) return;
    std::vector<std::string> allowed, blocked;
    for (const auto& [tp, reason] : diff.tensor_parallel) {
      if (reason.empty()) {
        allowed.push_back(std::to_string(tp));
      } else {
        blocked.push_back(fmt::format("{} ({})", tp, reason));
      }
    }
    if (blocked.empty()) return;
    ctx.emit("config.json", "",
             fmt::format("tensor parallel sizes {} work; not {}", fmt::join(allowed, ", "),
                         fmt::join(blocked, "; ")));
  }
};

}  // namespace

std::unique_ptr<Check> make_tensor_parallel_divisibility_check() {
  return std::make_unique<TensorParallelDivisibilityCheck>();
}

}  // namespace ckd

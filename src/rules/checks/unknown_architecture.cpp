// The config names a model class no architecture family describes, or a known class whose config
// lacks a size the family needs: one info line, and no architecture findings (never a guess).
#include "checkpoint/architecture.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

class UnknownArchitectureCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const ArchitectureDiff& diff = ctx.architecture_diff();
    using Status = ArchitectureDiff::Status;
    if (diff.status == Status::kUnknown) {
      ctx.emit("config.json", "",
               fmt::format("architecture {} is not modeled ({}); the architecture checks "
                           "(missing-tensor, shape-mismatch, key-layout-mismatch, ...) are skipped",
                           diff.class_name, diff.reason));
    } else if (diff.status == Status::kIncomplete) {
      ctx.emit("config.json", "",
               fmt::format("architecture {} (family {}) cannot be modeled: {}; the architecture "
                           "checks are skipped",
                           diff.class_name, diff.family, diff.reason));
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_unknown_architecture_check() {
  return std::make_unique<UnknownArchitectureCheck>();
}

}  // namespace ckd

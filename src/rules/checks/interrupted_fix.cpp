// An `ckptdoctor fix --in-place` was killed after its commit point: some files are new, some old,
// until the same command runs again and finishes the renames (src/fix/writer.h). Loaders would
// read a mix of both.
#include "fix/writer.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

class InterruptedFixCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    if (!ck.store().is_local() || !has_committed_staging(ck.real_dir())) return;
    ctx.emit(std::string(kStagingDirName) + "/" + kCommitFileName, "",
             fmt::format("an `ckptdoctor fix --in-place` was interrupted after its commit point: "
                         "the directory mixes old and new files; run the same fix command with "
                         "--in-place again to finish it"));
  }
};

}  // namespace

std::unique_ptr<Check> make_interrupted_fix_check() {
  return std::make_unique<InterruptedFixCheck>();
}

}  // namespace ckd

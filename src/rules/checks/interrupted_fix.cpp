// An `ckptdoctor fix --in-place` was killed after its commit point: some files are new, some old,
// until the same command runs again and finishes the renames (src/fix/writer.h). Loaders would
// read a mix of both. A journal that ckptdoctor did not write in this directory (one that came
// with a download) is reported with the reason it fails, and fix never replays it
// (src/fix/in_place_journal.h).
#include "fix/in_place_journal.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

class InterruptedFixCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    if (!ck.store().is_local()) return;
    JournalInspection journal;
    try {
      journal = inspect_journal(ck.real_dir());
    } catch (const IoError&) {
      return;  // the directory itself is unreadable: the loader reports that
    }
    const std::string file = std::string(kStagingDirName) + "/" + kCommitFileName;
    if (journal.state == JournalState::kOurs) {
      ctx.emit(file, "",
               "an `ckptdoctor fix --in-place` was interrupted after its commit point: the "
               "directory mixes old and new files; run the same fix command with --in-place again "
               "to finish it");
    } else if (journal.state == JournalState::kForeign) {
      ctx.emit(file, "",
               fmt::format("a journal of an interrupted `ckptdoctor fix --in-place` that ckptdoctor "
                           "did not write in this directory ({}): fix never replays it. If it "
                           "came with the download, the files may have been tampered with; "
                           "remove {} after checking them",
                           journal.reason, kStagingDirName));
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_interrupted_fix_check() {
  return std::make_unique<InterruptedFixCheck>();
}

}  // namespace ckd

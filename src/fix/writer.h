// Carries out a FixPlan without ever exposing a half-written file under its final name:
// every file is written into a staging directory, fsynced, re-opened and verified against its
// source (header valid, tensor table as planned, every byte equal), and only then published.
//
//   out of place  OUT's sibling ".NAME.ckptdoctor-partial/" is filled, then renamed to OUT in
//                 one step (OUT absent or empty); a killed run leaves only that hidden
//                 directory, which the next run deletes.
//   --in-place    DIR/.ckptdoctor-staging/ receives the changed files; a COMMIT journal (written,
//                 fsynced, renamed into place) lists them, then each is renamed over the old one,
//                 the index last. A killed run is finished on the next run when COMMIT exists
//                 (roll forward) and discarded when it does not (DIR was never touched).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "fix/plan.h"

namespace ckd {

inline constexpr const char* kStagingDirName = ".ckptdoctor-staging";
inline constexpr const char* kCommitFileName = "COMMIT";

struct WriteStats {
  size_t files_rewritten = 0;
  size_t files_copied = 0;
  uint64_t bytes = 0;  // written to the staging files
};

struct WriteOptions {
  int threads = 0;
  bool force = false;  // OUT may already hold files (they are replaced one by one)
};

// Writes the whole repaired checkpoint to `out_dir`. Throws IoError (nothing left behind) when
// OUT is unusable, a write fails (disk full, permissions) or a verification fails.
WriteStats write_out_of_place(const Checkpoint& ck, const FixPlan& plan, const std::string& out_dir,
                              const WriteOptions& options);

// Replaces the changed files of the checkpoint directory itself.
WriteStats write_in_place(const Checkpoint& ck, const FixPlan& plan, const WriteOptions& options);

// Finishes or discards what a killed --in-place run left in `dir`; returns a sentence saying
// which, or empty when there was nothing.
std::string recover_in_place(const std::string& dir);

// True when `dir` holds a committed but unfinished --in-place fix (it must be recovered first).
bool has_committed_staging(const std::string& dir);

// The hidden sibling where an out-of-place run stages OUT.
std::string partial_dir_for(const std::string& out_dir);

// Test hook: CKPTDOCTOR_CRASH_AT="point:N" kills the process with SIGKILL the N-th time
// `point` is reached ("staged", "published", "committed"), to prove crash safety.
void crash_point(const char* point);

}  // namespace ckd

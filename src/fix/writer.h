// Carries out a FixPlan without ever exposing a half-written file under its final name:
// every file is written into a staging directory, fsynced, re-opened and verified against its
// source (header valid, tensor table as planned, every byte equal), and only then published.
//
//   out of place  OUT's sibling ".NAME.ckptdoctor-partial/" is filled, then renamed to OUT in
//                 one step (OUT absent or empty); a killed run leaves only that hidden
//                 directory, which the next run deletes.
//   --in-place    DIR/.ckptdoctor-staging/ receives the changed files; a COMMIT journal (written,
//                 fsynced, renamed into place; src/fix/in_place_journal.h) lists them, then each
//                 is renamed over the old one (a hub snapshot's link is replaced, never written
//                 through), the index last, every path resolved beneath DIR without following a
//                 link. A killed run is finished on the next run when COMMIT exists and is ours
//                 (roll forward; that run then stops) and discarded when it does not exist (DIR
//                 was never touched); a COMMIT that is not ours is refused, never replayed.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "fix/in_place_journal.h"
#include "fix/plan.h"

namespace ckd {

struct WriteStats {
  size_t files_rewritten = 0;
  size_t files_copied = 0;
  uint64_t bytes = 0;  // written to the staging files
};

struct WriteOptions {
  int threads = 0;
  bool force = false;  // OUT may already hold files (they are replaced one by one)
  bool progress = false;  // a progress line on stderr (files staged)
};

// Writes the whole repaired checkpoint to `out_dir`. Throws IoError (nothing left behind) when
// OUT is unusable, a write fails (disk full, permissions) or a verification fails.
WriteStats write_out_of_place(const Checkpoint& ck, const FixPlan& plan, const std::string& out_dir,
                              const WriteOptions& options);

// Replaces the changed files of the checkpoint directory itself.
WriteStats write_in_place(const Checkpoint& ck, const FixPlan& plan, const WriteOptions& options);

struct Recovery {
  enum Kind { kNothing, kDiscarded, kFinished } kind = kNothing;
  std::string note;  // a sentence saying what was done; empty for kNothing
};

// Finishes (kFinished) or discards (kDiscarded) what a killed --in-place run left in `dir_real`
// (realpath()'d; the caller holds its DirLock). Throws FixError, touching nothing, when the
// journal is not ours (JournalState::kForeign).
Recovery recover_in_place(const std::string& dir_real);

// The hidden sibling where an out-of-place run stages OUT.
std::string partial_dir_for(const std::string& out_dir);

// Test hook: CKPTDOCTOR_CRASH_AT="point:N" kills the process with SIGKILL the N-th time
// `point` is reached ("staged", "published", "committed"), to prove crash safety.
void crash_point(const char* point);

}  // namespace ckd

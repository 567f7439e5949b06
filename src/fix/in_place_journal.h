// The journal of an `ckptdoctor fix --in-place` (DIR/.ckptdoctor-staging/COMMIT): the staged
// files to rename over DIR's, each with the identity its staged file had at the commit point
// (inode, change time to the nanosecond, size; not the device number, which may change across a
// reboot after a power cut).
//
// The identities are the proof that the journal is ours: a journal and staging files that came
// inside a downloaded, unpacked or copied directory have other inodes and change times, which no
// archive or copy can set, so such a journal is reported (`interrupted-fix` says why) and never
// replayed. Every path is resolved beneath DIR without following a symbolic link.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "io/paths.h"

namespace ckd {

inline constexpr const char* kStagingDirName = ".ckptdoctor-staging";
inline constexpr const char* kCommitFileName = "COMMIT";

struct StagedFileId {
  uint64_t inode = 0;
  int64_t ctime_sec = 0;
  int64_t ctime_nsec = 0;
  uint64_t size = 0;

  bool operator==(const StagedFileId&) const = default;
};

struct JournalEntry {
  std::string relative;  // the file's name in DIR and in the staging directory
  StagedFileId staged;
};

enum class JournalState {
  kNone,         // no staging directory
  kUncommitted,  // a staging directory without COMMIT: DIR was never touched
  kOurs,         // a committed journal whose pending staged files are the ones it recorded
  kForeign,      // a COMMIT that fails a check: never replayed
};

struct JournalInspection {
  JournalState state = JournalState::kNone;
  std::string reason;                 // kForeign: why it is not ours
  std::vector<JournalEntry> pending;  // kOurs: entries whose staged file is still to rename
};

// Reads and checks DIR's journal (`dir_real` realpath()'d); changes nothing. Throws IoError only
// when DIR itself cannot be opened.
JournalInspection inspect_journal(const std::string& dir_real);

// Why `relative` cannot be written through a journal (empty when it can): the unsafe names of
// unsafe_name_reason, empty or "." components, a newline, or a ckptdoctor name (.ckptdoctor-*).
std::string unjournalable_reason(std::string_view relative);

// The identity of the regular file `relative` beneath the directory `dir_fd`, not following links.
// Throws IoError (naming `dir_name`/relative) when it is missing, a link or not a regular file.
StagedFileId staged_file_id(int dir_fd, const std::string& dir_name, const std::string& relative);

// The COMMIT text for `entries` (in publishing order: the index last).
std::string journal_text(const std::vector<JournalEntry>& entries);

}  // namespace ckd

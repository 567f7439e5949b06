// The exclusive lock an `ckptdoctor fix --in-place` holds on its directory for the whole run
// (recovery, planning, staging, publishing): flock() on DIR/.ckptdoctor-lock. A second run does
// not wait: it exits 2 saying another fix holds the directory. The lock file is opened
// O_NOFOLLOW (a symlink planted under its name is refused, never followed) and removed when the
// run ends; the scan and the fix's file listing ignore a leftover one (a .ckptdoctor-* name).
#pragma once

#include <string>

#include "io/paths.h"

namespace ckd {

inline constexpr const char* kLockFileName = ".ckptdoctor-lock";

class DirLock {
 public:
  // Locks `dir_real` (realpath()'d). Throws FixError when another run holds the lock, IoError
  // when the lock file cannot be made (a link or a non-file in its place, a read-only directory).
  explicit DirLock(const std::string& dir_real);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  UniqueFd dir_;
  UniqueFd lock_;
};

}  // namespace ckd

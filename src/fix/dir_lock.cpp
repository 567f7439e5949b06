#include "fix/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "fix/plan.h"

namespace ckd {

DirLock::DirLock(const std::string& dir_real) : dir_(open_dir(dir_real)) {
  const std::string path = dir_real + "/" + kLockFileName;
  for (;;) {
    // O_NOFOLLOW: a planted symlink is an error, never a file created or opened elsewhere;
    // O_NONBLOCK: a planted FIFO cannot hang the open.
    UniqueFd fd(::openat(dir_.get(), kLockFileName,
                         O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
    if (!fd.valid()) {
      if (errno == ELOOP)
        throw IoError(fmt::format("{}: is a symbolic link; refusing to follow it (remove it)", path));
      throw IoError(fmt::format("{}: cannot create the lock file: {}", path, std::strerror(errno)));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
      throw IoError(fmt::format("{}: not a regular file; refusing to use it as the lock", path));
    while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EINTR) continue;
      if (errno == EWOULDBLOCK)
        throw FixError(fmt::format(
            "{}: another `ckptdoctor fix --in-place` is running on this directory (it holds {}); "
            "wait for it to finish, then run this command again",
            dir_real, path));
      throw IoError(fmt::format("{}: cannot lock: {}", path, std::strerror(errno)));
    }
    // The holder before us removes the file when it ends: locking that unlinked file proves
    // nothing, so the name must still be the file we locked.
    struct stat now {};
    if (::fstatat(dir_.get(), kLockFileName, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
        now.st_dev == st.st_dev && now.st_ino == st.st_ino) {
      lock_ = std::move(fd);
      return;
    }
  }
}

DirLock::~DirLock() {
  // Unlink while still holding the lock; a run that opened the old file re-checks the name.
  ::unlinkat(dir_.get(), kLockFileName, 0);
}

}  // namespace ckd

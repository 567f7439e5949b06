#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "io/byte_source.h"

namespace ckd {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what, int e) {
  throw IoError(fmt::format("{}: {}: {}", path, what, errno_text(e)));
}

}  // namespace

std::string errno_text(int e) {
  if (e == ENOSPC) return "no space left on device";
  if (e == EDQUOT) return "disk quota exceeded";
  if (e == EFBIG) return "file too large (the file size limit was reached)";
  return std::strerror(e);
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(dir, "cannot open directory", errno);
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  // Some filesystems cannot fsync a directory (EINVAL); the rename is then as durable as it gets.
  if (rc != 0 && e != EINVAL) fail(dir, "fsync failed", e);
}

void fsync_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, "cannot open", errno);
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) fail(path, "fsync failed", e);
}

void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (fs::exists(status) && !fs::is_regular_file(status)) {
    // /dev/stdout, a pipe, a process substitution: there is nothing to replace, so write to it.
    std::ofstream file(path, std::ios::binary);
    if (!file) fail(path, "cannot write the report", errno);
    write(file);
    file.flush();
    if (!file) fail(path, "writing the report failed", errno);
    return;
  }
  // A link is followed: the file it names is replaced, the link stays.
  const fs::path target = fs::is_symlink(fs::symlink_status(path, ec)) && fs::exists(status)
                              ? fs::canonical(path, ec)
                              : fs::path(path);
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  // Hidden, and unique per process so two runs writing the same report never share a file.
  const std::string partial =
      (parent / fmt::format(".{}.{}.partial", target.filename().string(), ::getpid())).string();
  try {
    {
      std::ofstream file(partial, std::ios::binary | std::ios::trunc);
      if (!file) fail(partial, "cannot write the report", errno);
      write(file);
      file.flush();
      if (!file) fail(partial, "writing the report failed", errno);
    }
    fsync_file(partial);
    if (std::rename(partial.c_str(), target.c_str()) != 0)
      fail(path, "cannot rename the report into place", errno);
  } catch (...) {
    std::error_code ignored;
    fs::remove(partial, ignored);
    throw;
  }
  fsync_dir(parent.string());
}

}  // namespace ckd

#include "io/paths.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "io/byte_source.h"

namespace ckd {

std::string real_path(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return {};
  return buf;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

UniqueFd open_dir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid())
    throw IoError(fmt::format("{}: cannot open the directory: {}", path, std::strerror(errno)));
  return fd;
}

UniqueFd open_dir_beneath(int base_fd, const std::string& base_name, std::string_view relative,
                          bool create) {
  UniqueFd current(::fcntl(base_fd, F_DUPFD_CLOEXEC, 0));
  if (!current.valid())
    throw IoError(fmt::format("{}: cannot open the directory: {}", base_name, std::strerror(errno)));
  std::string walked = base_name;
  size_t start = 0;
  while (start < relative.size()) {
    size_t slash = relative.find('/', start);
    std::string part(
        relative.substr(start, slash == std::string_view::npos ? relative.npos : slash - start));
    start = slash == std::string_view::npos ? relative.size() : slash + 1;
    if (part.empty() || part == ".") continue;
    walked += "/" + part;
    if (part == "..") throw IoError(fmt::format("{}: '..' leaves the directory", walked));
    int fd = ::openat(current.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(current.get(), part.c_str(), 0755) != 0 && errno != EEXIST)
        throw IoError(fmt::format("{}: cannot create directory: {}", walked, std::strerror(errno)));
      fd = ::openat(current.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      int e = errno;
      struct stat st {};
      if (::fstatat(current.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode))
        throw IoError(fmt::format("{}: is a symbolic link; refusing to follow it", walked));
      if (e == ENOTDIR) throw IoError(fmt::format("{}: not a directory", walked));
      throw IoError(fmt::format("{}: cannot open the directory: {}", walked, std::strerror(e)));
    }
    current = UniqueFd(fd);
  }
  return current;
}

std::string hub_cache_blobs_dir(const std::string& dir_real) {
  // dir_real = .../<repo>/snapshots/<rev>, <repo> = models--ORG--NAME (huggingface_hub's
  // repo_folder_name: "{repo_type}s--" + id with '/' as "--").
  size_t slash = dir_real.rfind('/');
  if (slash == std::string::npos || slash == 0) return {};
  std::string snapshots = dir_real.substr(0, slash);
  size_t parent_slash = snapshots.rfind('/');
  if (parent_slash == std::string::npos || snapshots.substr(parent_slash + 1) != "snapshots")
    return {};
  std::string repo = snapshots.substr(0, parent_slash);
  std::string repo_name = repo.substr(repo.rfind('/') + 1);
  if (!repo_name.starts_with("models--") && !repo_name.starts_with("datasets--") &&
      !repo_name.starts_with("spaces--"))
    return {};
  // The repo folder is part of a realpath, so it is real; blobs/ must be a real directory too,
  // never a link (`blobs -> /etc` would let a snapshot's links read anything).
  std::string blobs = repo + "/blobs";
  struct stat st {};
  if (::lstat(blobs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return {};
  return blobs;
}

std::string unsafe_name_reason(std::string_view relative) {
  if (relative.empty()) return "empty file name";
  if (relative.find('\0') != std::string_view::npos) return "NUL byte in name";
  if (relative.front() == '/') return "absolute path";
  if (relative.find('\\') != std::string_view::npos) return "backslash in name";
  size_t start = 0;
  while (start <= relative.size()) {
    size_t slash = relative.find('/', start);
    std::string_view part =
        relative.substr(start, slash == std::string_view::npos ? relative.npos : slash - start);
    if (part == "..") return "'..' component leaves the checkpoint directory";
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return {};
}

ResolvedPath resolve_inside(const std::string& root_real, std::string_view relative,
                            const std::string& also_allowed) {
  if (std::string reason = unsafe_name_reason(relative); !reason.empty())
    return {PathStatus::kUnsafe, "", std::move(reason)};
  std::string joined = root_real + "/" + std::string(relative);
  struct stat st {};
  if (::lstat(joined.c_str(), &st) != 0) return {PathStatus::kMissing, joined, ""};
  std::string real = real_path(joined);
  if (real.empty()) return {PathStatus::kMissing, joined, ""};  // dangling symlink
  auto under = [&real](const std::string& dir) {
    return !dir.empty() && real.compare(0, dir.size() + 1, dir + "/") == 0;
  };
  // A hub cache's blobs/ is flat: a snapshot link may name a file directly inside it, nothing
  // deeper.
  auto blob = [&]() {
    return under(also_allowed) && real.find('/', also_allowed.size() + 1) == std::string::npos;
  };
  if (!under(root_real) && !blob()) {
    return {PathStatus::kUnsafe, "",
            fmt::format("resolves to {} outside the checkpoint directory", real)};
  }
  if (::stat(real.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return {PathStatus::kNotRegular, real, ""};
  return {PathStatus::kOk, real, ""};
}

std::string read_small_file(const std::string& path, uint64_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw IoError(fmt::format("{}: cannot stat", path));
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    throw IoError(fmt::format("{}: {} bytes is over the {}-byte limit for this file", path,
                              st.st_size, max_bytes));
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(fmt::format("{}: cannot open", path));
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(done);
  return out;
}

}  // namespace ckd

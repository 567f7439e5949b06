// Resolving untrusted relative paths (index shard names) without ever leaving a root directory.
#pragma once

#include <string>
#include <string_view>

namespace ckd {

enum class PathStatus { kOk, kMissing, kUnsafe, kNotRegular };

struct ResolvedPath {
  PathStatus status;
  std::string path;    // absolute path when kOk / kMissing / kNotRegular
  std::string reason;  // why it is unsafe
};

// Why an untrusted relative name may not be opened: empty, absolute, a NUL, a backslash or a
// ".." component. Empty when the name is acceptable (symlinks are resolve_inside's business).
std::string unsafe_name_reason(std::string_view relative);

// `root_real` must be a realpath()'d directory. A name is unsafe when it is empty, absolute,
// contains a NUL, a backslash or a ".." component, or resolves (through symlinks) outside root
// and is not a file directly inside `also_allowed` (a hub cache's blobs/, or empty).
ResolvedPath resolve_inside(const std::string& root_real, std::string_view relative,
                            const std::string& also_allowed = "");

// For a Hugging Face hub cache snapshot (".../models--org--name/snapshots/REV", also datasets--
// and spaces--), whose files are symlinks into ".../models--org--name/blobs", the blobs directory;
// otherwise empty. `dir_real` is realpath()'d, so the repo folder is real; a `blobs` that is
// itself a symlink is not trusted (it could point anywhere) and gives empty.
std::string hub_cache_blobs_dir(const std::string& dir_real);

// A file descriptor, closed when it goes out of scope.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Opens the directory `relative` ("" for `base_fd` itself, else "a/b") beneath the directory
// `base_fd` without following a symbolic link in any component (each is opened O_NOFOLLOW),
// creating missing ones when `create`. Throws IoError naming `base_name`/relative and the
// component that is a link, not a directory, or cannot be opened.
UniqueFd open_dir_beneath(int base_fd, const std::string& base_name, std::string_view relative,
                          bool create);

// Opens the directory `path` itself (symlinks in it are followed: it is the user's argument).
// Throws IoError.
UniqueFd open_dir(const std::string& path);

// realpath() as a string, or empty when the path does not exist.
std::string real_path(const std::string& path);

// Reads a whole small file, refusing files over `max_bytes`; throws IoError.
std::string read_small_file(const std::string& path, uint64_t max_bytes);

}  // namespace ckd

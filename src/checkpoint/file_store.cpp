#include "checkpoint/file_store.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>

#include <fmt/format.h>

#include "io/pread_file.h"
#include "safetensors/shard.h"

namespace ckd {

LocalStore::LocalStore(const std::string& dir) : dir_(dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0)
    throw IoError(fmt::format("{}: no such file or directory", dir));
  if (!S_ISDIR(st.st_mode)) throw IoError(fmt::format("{}: not a directory", dir));
  real_dir_ = real_path(dir);
  if (real_dir_.empty()) throw IoError(fmt::format("{}: cannot resolve the directory", dir));
  hub_blobs_dir_ = hub_cache_blobs_dir(real_dir_);
}

std::optional<std::vector<StoredFile>> LocalStore::list_safetensors() {
  std::vector<StoredFile> out;
  DIR* d = ::opendir(real_dir_.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (!std::string_view(name).ends_with(".safetensors")) continue;
    // Only regular files open before the index is read: a symlink is opened only after
    // resolve() has proved it stays inside the directory (or the hub cache's blobs/).
    struct stat lst {};
    bool regular = ::lstat((real_dir_ + "/" + name).c_str(), &lst) == 0 && S_ISREG(lst.st_mode);
    out.push_back({std::move(name), regular});
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(),
            [](const StoredFile& a, const StoredFile& b) { return a.name < b.name; });
  return out;
}

ResolvedPath LocalStore::resolve(std::string_view name) {
  return resolve_inside(real_dir_, name, hub_blobs_dir_);
}

std::unique_ptr<ByteSource> LocalStore::open(const ResolvedPath& resolved) {
  return PreadFile::open(resolved.path);
}

std::string LocalStore::read_small(const ResolvedPath& resolved, uint64_t max_bytes) {
  return read_small_file(resolved.path, max_bytes);
}

uint64_t LocalStore::max_header_bytes() const {
  return kMaxHeaderBytes;
}

}  // namespace ckd

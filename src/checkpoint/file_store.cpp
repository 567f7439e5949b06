#include "checkpoint/file_store.h"

#include <dirent.h>
#include <string_view>
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

std::unique_ptr<LocalStore> LocalStore::single_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw IoError(fmt::format("{}: no such file or directory", path));
  if (!S_ISREG(st.st_mode) || !std::string_view(path).ends_with(".safetensors"))
    throw IoError(fmt::format("{}: not a directory or a .safetensors file", path));
  auto store = std::unique_ptr<LocalStore>(new LocalStore());
  size_t slash = path.rfind('/');
  // "f.safetensors" lies in ".", "/f.safetensors" in "/".
  std::string parent = slash == std::string::npos ? std::string(".")
                       : slash == 0               ? std::string("/")
                                                  : path.substr(0, slash);
  store->dir_ = path;
  // The file is the user's argument: symlinks in it are followed, as for a directory.
  store->single_file_ = slash == std::string::npos ? path : path.substr(slash + 1);
  store->single_file_real_ = real_path(path);
  store->real_dir_ = real_path(parent);
  if (store->real_dir_.empty() || store->single_file_real_.empty())
    throw IoError(fmt::format("{}: cannot resolve the file", path));
  store->hub_blobs_dir_ = hub_cache_blobs_dir(store->real_dir_);
  // The configs beside it describe it only when it is the directory's whole checkpoint.
  struct stat index_st {};
  bool has_index =
      ::lstat((store->real_dir_ + "/model.safetensors.index.json").c_str(), &index_st) == 0;
  size_t others = 0;
  if (DIR* d = ::opendir(store->real_dir_.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      if (name.ends_with(".safetensors") && name != store->single_file_) ++others;
    }
    ::closedir(d);
  }
  store->configs_beside_ = !has_index && others == 0;
  return store;
}

std::unique_ptr<LocalStore> open_local_store(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return LocalStore::single_file(path);
  return std::make_unique<LocalStore>(path);
}

std::optional<std::vector<StoredFile>> LocalStore::list_safetensors() {
  std::vector<StoredFile> out;
  if (!single_file_.empty()) {
    // Opened after resolve() (a hub snapshot's file is a symlink into blobs/).
    out.push_back({single_file_, false});
    return out;
  }
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
  if (!single_file_.empty()) {
    if (name == single_file_) return {PathStatus::kOk, single_file_real_, ""};
    bool config = name == "config.json" || name == "hf_quant_config.json";
    if (!(config && configs_beside_)) return {PathStatus::kMissing, "", ""};
  }
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

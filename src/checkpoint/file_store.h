// Where a checkpoint's files come from: a local directory, or (src/remote/) a Hub repository or
// an HTTP directory read with Range requests. Checkpoint::open sees only this interface, so a
// remote scan runs the same loader, the same containment rules and the same checks as a local one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/byte_source.h"
#include "io/paths.h"

namespace ckd {

// The file does not exist (HTTP 404, ENOENT after resolve): a missing file, not a tool error.
class FileNotFound : public IoError {
 public:
  using IoError::IoError;
};

// The bytes could not be fetched for a reason that is not the checkpoint's fault (timeouts,
// server errors, refused Range requests): the scan cannot vouch for anything, so it stops with
// exit code 2 instead of reporting findings about the files.
class TransportError : public IoError {
 public:
  using IoError::IoError;
};

struct StoredFile {
  std::string name;
  // Safe to open before the index is read: a regular file inside the directory (not a symlink,
  // whose target resolve() must vet first), or any listed file of a remote repository.
  bool open_early = false;
};

class FileStore {
 public:
  virtual ~FileStore() = default;
  // What messages call the checkpoint: the directory as given, or the URL.
  virtual const std::string& location() const = 0;
  virtual bool is_local() const = 0;
  // The top-level *.safetensors files, sorted; nullopt when the store cannot list (an HTTP
  // directory without a listing API): the index alone then names the shards.
  virtual std::optional<std::vector<StoredFile>> list_safetensors() = 0;
  // Vets an untrusted relative name (from the index): unsafe names are never opened.
  virtual ResolvedPath resolve(std::string_view name) = 0;
  // Opens a resolved file. Throws FileNotFound, TransportError or IoError.
  virtual std::unique_ptr<ByteSource> open(const ResolvedPath& resolved) = 0;
  // Reads a whole resolved file of at most `max_bytes`. Throws like open().
  virtual std::string read_small(const ResolvedPath& resolved, uint64_t max_bytes) = 0;
  // How many files to open at once: cores for a disk, more for a network.
  virtual int open_parallelism(int requested_threads) const = 0;
  // The largest shard header this store reads.
  virtual uint64_t max_header_bytes() const = 0;
};

// A directory on disk. Names resolve inside it (or, for a hub cache snapshot, inside the
// cache's blobs/ its symlinks point to); files are memory-mapped.
//
// A lone `.safetensors` file (single_file()) is a checkpoint of that one file: no index is
// read (the user named the file, not the set), and config.json / hf_quant_config.json beside
// it are read only when it is the only *.safetensors file of its directory and there is no
// index there, so a shard of a larger checkpoint is never judged against the whole model's
// config (a 1-of-4 shard would miss three quarters of the layers).
class LocalStore final : public FileStore {
 public:
  // Throws IoError when `dir` is not a readable directory.
  explicit LocalStore(const std::string& dir);
  // Throws IoError when `path` is not a readable regular `.safetensors` file.
  static std::unique_ptr<LocalStore> single_file(const std::string& path);

  const std::string& location() const override { return dir_; }
  bool is_local() const override { return true; }
  std::optional<std::vector<StoredFile>> list_safetensors() override;
  ResolvedPath resolve(std::string_view name) override;
  std::unique_ptr<ByteSource> open(const ResolvedPath& resolved) override;
  std::string read_small(const ResolvedPath& resolved, uint64_t max_bytes) override;
  int open_parallelism(int requested_threads) const override { return requested_threads; }
  uint64_t max_header_bytes() const override;

  const std::string& real_dir() const { return real_dir_; }
  const std::string& hub_blobs_dir() const { return hub_blobs_dir_; }
  // The file's name in real_dir() for a single-file store; empty for a directory.
  const std::string& single_file_name() const { return single_file_; }
  // Single-file store: whether the configs beside the file describe it (see the class comment).
  bool reads_configs_beside() const { return configs_beside_; }

 private:
  LocalStore() = default;
  std::string single_file_;
  std::string single_file_real_;
  bool configs_beside_ = false;
  std::string dir_;
  std::string real_dir_;
  std::string hub_blobs_dir_;
};

// A local directory, or a lone `.safetensors` file (LocalStore::single_file). Throws IoError
// naming the path when it is neither.
std::unique_ptr<LocalStore> open_local_store(const std::string& path);

}  // namespace ckd

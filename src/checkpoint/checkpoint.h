// A checkpoint directory: config files, the index, the shards and one table of every tensor.
// Opening never throws for bad content; what cannot be loaded becomes a LoadProblem or a
// ShardIssue for the rules to report. Only a missing directory is a tool error.
#pragma once

#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoint/file_store.h"
#include "checkpoint/module_table.h"
#include "checkpoint/quant_scheme.h"
#include "safetensors/shard.h"

namespace ckd {

enum class LoadProblemKind {
  kInvalidConfig,    // config.json / hf_quant_config.json unreadable or not JSON
  kInvalidIndex,     // index unreadable or of the wrong shape
  kUnsafePath,       // index names a file outside the directory: never opened
  kMissingShard,     // index names a file that does not exist
  kUnreadableShard,  // exists but cannot be opened or mapped
  kDuplicateIndexKey,
};

struct LoadProblem {
  LoadProblemKind kind;
  std::string file;
  std::string tensor;
  std::string message;
};

// model.safetensors.index.json. Tensor names are views into the file's text, kept as read
// (62k small strings would each cost an allocation, and a copy of them 4 MB of fresh pages);
// the few that need unescaping live in names_blob. Entries keep the file's order.
inline constexpr const char* kIndexFileName = "model.safetensors.index.json";

struct IndexFile {
  struct Entry {
    uint64_t offset;  // of the name in text, or in names_blob with kInBlob set
    uint32_t length;
    uint32_t shard;  // index into shard_names
  };
  static constexpr uint64_t kInBlob = 1ull << 63;
  std::vector<std::string> shard_names;  // distinct, in first-use order
  std::shared_ptr<const void> text_owner;  // keeps `text` alive
  std::string_view text;
  std::string names_blob;
  std::vector<Entry> entries;
  std::optional<double> total_size;
  bool total_size_present = false;

  size_t size() const { return entries.size(); }
  std::string_view tensor(size_t i) const {
    const Entry& e = entries[i];
    return e.offset & kInBlob ? std::string_view(names_blob).substr(e.offset & ~kInBlob, e.length)
                              : text.substr(e.offset, e.length);
  }
  const std::string& shard_of(size_t i) const { return shard_names[entries[i].shard]; }
};

// Where one tensor lives.
struct TensorRef {
  const Shard* shard = nullptr;
  const TensorInfo* info = nullptr;
};

class Checkpoint;
class SideThread;

struct OpenOptions {
  int threads = 0;  // 0: hardware concurrency
  // A progress line on stderr while a remote store's shard headers are fetched (local headers
  // are read in milliseconds).
  bool progress = false;
  // Work that reads only the configs and the quantization scheme (the scan's architecture
  // model): it runs beside the shard headers' parse (after the index, before the shards left
  // when a core frees up). The checkpoint's index, tensors, modules and problems are not ready.
  std::function<void(const Checkpoint&)> beside_shard_headers;
  // Work that reads only the shards' own tensor tables and bytes (the scan's scale statistics):
  // it starts on a thread of its own once the shards are parsed, beside the tensor table and
  // the module groups, whose merge and grouping leave the other cores idle, and it may still be
  // running when open() returns (with one thread it runs in finish_beside_work()). Only
  // shards() is ready to it. Checkpoint::finish_beside_work() waits for it and rethrows what it
  // threw; the checkpoint's destructor waits too.
  std::function<void(const Checkpoint&)> beside_tensor_table;
};

class Checkpoint {
 public:
  // Throws IoError when `dir` is not a readable directory.
  static std::unique_ptr<Checkpoint> open(const std::string& dir, const OpenOptions& options = {});
  // Any store (a directory, a Hub repository). Throws TransportError when the files cannot be
  // fetched; everything wrong with the files themselves becomes a LoadProblem or ShardIssue.
  static std::unique_ptr<Checkpoint> open(std::unique_ptr<FileStore> store,
                                          const OpenOptions& options = {});
  ~Checkpoint();

  // Waits for OpenOptions::beside_tensor_table's work (runs it here with one thread) and
  // rethrows what it threw; at once when there is none or it has been waited for. One caller
  // at a time.
  void finish_beside_work();

  // The directory as given, or the URL of a remote checkpoint.
  const std::string& dir() const { return dir_; }
  const FileStore& store() const { return *store_; }
  // For reading further files of the checkpoint (diff's tokenizer files): resolve() first.
  FileStore& store_for_reading() const { return *store_; }
  // realpath() of a local directory; empty for a remote checkpoint.
  const std::string& real_dir() const { return real_dir_; }
  // Where a hub cache snapshot's symlinks may point (empty when `dir` is not a snapshot).
  const std::string& hub_blobs_dir() const { return hub_blobs_dir_; }
  const nlohmann::json* config() const { return config_ ? &*config_ : nullptr; }
  const nlohmann::json* hf_quant_config() const {
    return hf_quant_config_ ? &*hf_quant_config_ : nullptr;
  }
  const std::optional<IndexFile>& index() const { return index_; }
  // True when model.safetensors.index.json exists, readable or not.
  bool has_index_file() const { return has_index_file_; }
  const std::vector<std::unique_ptr<Shard>>& shards() const { return shards_; }
  const Shard* shard(const std::string& name) const;
  // Names of *.safetensors files in the directory that the index does not reference.
  const std::vector<std::string>& orphan_files() const { return orphans_; }
  const std::vector<LoadProblem>& problems() const { return problems_; }

  // Every tensor of every shard, sorted by name (the first shard's copy when duplicated).
  // Names are views into the shard headers, which live as long as the checkpoint.
  const std::vector<std::string_view>& tensor_names() const { return names_; }
  const std::vector<const TensorRef*>& tensor_refs() const { return refs_; }  // parallel to names
  // Names found in more than one shard, with every shard holding them.
  const std::vector<std::pair<std::string, std::vector<const Shard*>>>& cross_shard_duplicates()
      const {
    return cross_duplicates_;
  }
  const TensorRef* find(std::string_view name) const;

  const QuantScheme& scheme() const { return scheme_; }
  const ModuleTable& modules() const { return modules_; }

  // A config value looked up at the top level, then in text_config / language_config.
  const nlohmann::json* config_value(const char* key) const;

 private:
  void load_configs();
  void load_index(const ResolvedPath& path);
  void build_tensor_table(int threads);
  const QuantGroup* resolve_group(const Module& m) const;

  std::unique_ptr<FileStore> store_;
  std::string dir_;
  std::string real_dir_;
  std::string hub_blobs_dir_;  // where a hub cache snapshot's symlinks may point
  std::optional<nlohmann::json> config_;
  std::optional<nlohmann::json> hf_quant_config_;
  std::optional<IndexFile> index_;
  bool has_index_file_ = false;
  bool index_missing_ = false;            // resolved, then not found (a remote store's 404)
  std::exception_ptr transport_failure_;  // from the index job, rethrown by open()
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unordered_map<std::string, const Shard*> shard_by_name_;
  std::vector<std::string> orphans_;
  std::vector<LoadProblem> problems_;
  std::vector<TensorRef> ref_storage_;
  std::vector<std::string_view> names_;
  std::vector<const TensorRef*> refs_;
  std::vector<std::pair<std::string, std::vector<const Shard*>>> cross_duplicates_;
  QuantScheme scheme_;
  ModuleTable modules_;
  // OpenOptions::beside_tensor_table's work. Last: destroyed first, so its thread is joined
  // before the shards it reads are freed.
  std::unique_ptr<SideThread> beside_work_;
};

// Bytes per dtype name, for the report's histograms and the false-quantization rule.
struct DtypeBytes {
  std::map<std::string, uint64_t> bytes;  // dtype name -> bytes
  uint64_t total = 0;
};

// Every tensor of the checkpoint, and the weights of the modules the declaration targets.
DtypeBytes count_dtype_bytes(const Checkpoint& ck);
DtypeBytes count_target_dtype_bytes(const Checkpoint& ck);

// Announces to each shard's byte source the reads of these tensors (readable ones only), shards
// in parallel: a remote source fetches them in a few requests. Throws what the sources throw.
void prefetch_tensor_bytes(const std::vector<const TensorRef*>& refs, int threads);

// Parses an index file's text (exposed for the fuzzer), which it keeps. Throws JsonError.
IndexFile parse_index_json(std::string text, std::vector<std::string>* duplicate_keys);
// The same over text that `owner` keeps alive (a byte source's buffer or mapping).
IndexFile parse_index_json(std::string_view text, std::shared_ptr<const void> owner,
                           std::vector<std::string>* duplicate_keys);

}  // namespace ckd

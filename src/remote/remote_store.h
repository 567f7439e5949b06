// Checkpoints read over HTTP: `hf://ORG/REPO[@REVISION]` (a Hugging Face Hub repository, or one
// on HF_ENDPOINT) and `https://HOST/.../resolve/REV/` directories. Only configs, the index,
// each shard's header and (for the scale rules) the byte ranges of scale tensors are fetched.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>

#include "checkpoint/file_store.h"
#include "remote/http_client.h"

namespace ckd {

struct RemoteLocation {
  std::string display;   // as the user wrote it
  std::string base_url;  // files are base_url + percent-encoded name; ends with '/'
  std::string tree_url;  // the Hub's listing API for this revision; empty when unknown
  bool hub = false;      // hf://: the listing must work (a 404 means no such repo or revision)
  std::string repo;      // hf:// only: ORG/REPO
  std::string revision;  // hf:// only: as written (default "main")
};

// True for the locations RemoteStore reads (hf://, http://, https://).
bool is_remote_location(const std::string& location);

// Parses a remote location; `endpoint` is HF_ENDPOINT (or the Hub). Throws std::runtime_error
// with what is wrong in it.
RemoteLocation parse_remote_location(const std::string& location, const std::string& endpoint);

// What the environment says: HF_ENDPOINT, HF_TOKEN (or the token file huggingface_hub writes),
// HF_HUB_OFFLINE.
struct RemoteEnvironment {
  std::string endpoint = "https://huggingface.co";
  std::string token;
  bool offline = false;
};
RemoteEnvironment remote_environment();

class RemoteStore final : public FileStore {
 public:
  // Fetches the listing when there is one. Throws TransportError / IoError when the repository
  // cannot be read at all.
  RemoteStore(RemoteLocation location, HttpSettings settings);

  const std::string& location() const override { return location_.display; }
  bool is_local() const override { return false; }
  std::optional<std::vector<StoredFile>> list_safetensors() override;
  ResolvedPath resolve(std::string_view name) override;
  std::unique_ptr<ByteSource> open(const ResolvedPath& resolved) override;
  std::string read_small(const ResolvedPath& resolved, uint64_t max_bytes) override;
  int open_parallelism(int requested_threads) const override;
  uint64_t max_header_bytes() const override { return kMaxRemoteHeaderBytes; }

  TransferStats transfer() const { return client_.stats(); }
  // The listing's top-level shards and JSON files (kept_in_listing); nullopt when unlisted.
  std::optional<std::vector<std::string>> listed_files() const {
    if (!listed_) return std::nullopt;
    return std::vector<std::string>(files_.begin(), files_.end());
  }

  // The first request of every file: most shard headers fit in it whole.
  static constexpr uint64_t kFirstRequestBytes = 100001;  // bytes 0-100000
  static constexpr uint64_t kMaxRemoteHeaderBytes = 25'000'000;

 private:
  void fetch_listing();

  RemoteLocation location_;
  HttpClient client_;
  bool listed_ = false;
  std::set<std::string> files_;  // the files at the top level of the listing
};

// Opens `location` as a local directory or, when it is a URL, a RemoteStore. An hf:// revision
// that the local huggingface_hub cache holds whole is read from the cache (src/remote/hub_cache.h);
// under HF_HUB_OFFLINE only the cache is read.
std::unique_ptr<FileStore> open_store(const std::string& location, const HttpSettings& settings);

}  // namespace ckd

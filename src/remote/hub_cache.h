// The local huggingface_hub cache: `hf://ORG/REPO[@REV]` is read from disk when the revision is
// there, as huggingface_hub itself does (file_download.py try_to_load_from_cache: the cache is
// HF_HUB_CACHE, else HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub;
// a repo is models--ORG--REPO with refs/REV holding the commit of a branch or tag and
// snapshots/COMMIT/ holding symlinks into blobs/).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ckd {

struct HubCacheSnapshot {
  std::string dir;     // .../models--ORG--REPO/snapshots/COMMIT
  std::string commit;  // 40 hex digits
  // Every shard the index names is there (or, with no index, at least one *.safetensors): a
  // snapshot holding only the configs someone downloaded is not the checkpoint.
  bool complete = false;
  std::string incomplete_reason;  // when !complete: what is missing
};

// The cache directory the environment names (may not exist).
std::string hub_cache_dir();

// The snapshot of `repo` ("ORG/REPO" or "REPO") at `revision` (a branch, tag, "refs/pr/N" or a
// commit hash) in `cache_dir`, or nullopt when the cache does not hold that revision. Every name
// read from the cache (the ref file's content) is validated; nothing outside the repo's folder
// is opened.
std::optional<HubCacheSnapshot> find_hub_cache_snapshot(const std::string& cache_dir,
                                                        std::string_view repo,
                                                        std::string_view revision);

}  // namespace ckd

#include "remote/hub_cache.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "checkpoint/checkpoint.h"
#include "checkpoint/file_store.h"

namespace ckd {

namespace {

std::string getenv_string(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool is_directory(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_commit_hash(std::string_view s) {
  return s.size() == 40 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// A revision names a file under refs/: each segment a plain name (no "..", no empty segment).
bool safe_ref_name(std::string_view revision) {
  if (revision.empty() || revision.size() > 256) return false;
  size_t start = 0;
  while (start <= revision.size()) {
    size_t end = revision.find('/', start);
    if (end == std::string_view::npos) end = revision.size();
    std::string_view seg = revision.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (char c : seg)
      if (static_cast<unsigned char>(c) < 0x21 || c == '\\') return false;
    start = end + 1;
  }
  return true;
}

// The commit a ref file holds: huggingface_hub writes the 40-digit hash with no newline.
std::optional<std::string> read_ref(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  char buf[64];
  in.read(buf, sizeof buf);
  std::string text(buf, static_cast<size_t>(in.gcount()));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  if (!is_commit_hash(text)) return std::nullopt;
  return text;
}

void check_complete(HubCacheSnapshot& snap) {
  LocalStore store(snap.dir);
  ResolvedPath index = store.resolve("model.safetensors.index.json");
  if (index.status == PathStatus::kOk) {
    try {
      IndexFile parsed = parse_index_json(store.read_small(index, 512ull << 20), nullptr);
      for (const std::string& shard : parsed.shard_names) {
        if (store.resolve(shard).status != PathStatus::kOk) {
          snap.incomplete_reason = shard + " is not in the cache";
          return;
        }
      }
      snap.complete = !parsed.shard_names.empty();
      if (!snap.complete) snap.incomplete_reason = "its index names no shard";
    } catch (const std::exception&) {
      // The scan reports a broken index; whether it came from the cache or the Hub, it is read.
      snap.complete = true;
    }
    return;
  }
  auto listed = store.list_safetensors();
  snap.complete = listed && !listed->empty();
  if (!snap.complete) snap.incomplete_reason = "no *.safetensors file is in the cache";
}

}  // namespace

std::string hub_cache_dir() {
  if (std::string d = getenv_string("HF_HUB_CACHE"); !d.empty()) return d;
  if (std::string d = getenv_string("HUGGINGFACE_HUB_CACHE"); !d.empty()) return d;  // the older name
  if (std::string home = getenv_string("HF_HOME"); !home.empty()) return home + "/hub";
  std::string xdg = getenv_string("XDG_CACHE_HOME");
  if (xdg.empty()) {
    std::string home = getenv_string("HOME");
    if (home.empty()) return "";
    xdg = home + "/.cache";
  }
  return xdg + "/huggingface/hub";
}

std::optional<HubCacheSnapshot> find_hub_cache_snapshot(const std::string& cache_dir,
                                                        std::string_view repo,
                                                        std::string_view revision) {
  if (cache_dir.empty() || repo.empty() || !safe_ref_name(revision)) return std::nullopt;
  std::string folder = "models--";
  for (char c : repo) {
    if (c == '/')
      folder += "--";
    else
      folder += c;
  }
  std::string repo_dir = cache_dir + "/" + folder;
  if (!is_directory(repo_dir)) return std::nullopt;
  HubCacheSnapshot snap;
  if (is_commit_hash(revision)) {
    snap.commit = std::string(revision);
  } else {
    auto commit = read_ref(repo_dir + "/refs/" + std::string(revision));
    if (!commit) return std::nullopt;
    snap.commit = *commit;
  }
  snap.dir = repo_dir + "/snapshots/" + snap.commit;
  if (!is_directory(snap.dir)) return std::nullopt;
  check_complete(snap);
  return snap;
}

}  // namespace ckd

#include "remote/remote_store.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "io/json_reader.h"
#include "remote/http_source.h"
#include "remote/hub_cache.h"

namespace ckd {

namespace {

// The listing is read page by page with a pull parser (no document tree); only the names the
// scan can ask about are kept. These bound what a hostile or huge listing costs.
constexpr uint64_t kMaxListingPageBytes = 16ull << 20;
constexpr uint64_t kMaxListingBytes = 256ull << 20;  // all pages together
constexpr uint64_t kMaxListingEntries = 1'000'000;   // all pages together, of any type
constexpr int kMaxListingPages = 1000;
constexpr int kRemoteOpenParallelism = 16;  // files fetched at once: latency, not cores, bounds it

std::string getenv_string(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string trim_copy(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

bool valid_repo_part(std::string_view part) {
  if (part.empty() || part.size() > 96 || part == "." || part == "..") return false;
  return std::all_of(part.begin(), part.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? s.npos : at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

// The listed files resolve() and list_safetensors() answer for: the top level's shards and JSON
// files (configs, the index). Other entries (READMEs, images, *.bin) are counted, not kept; a
// name among them is looked up by its own request if the index names it.
bool kept_in_listing(std::string_view name) {
  // Tokenizer and chat-template files that are not JSON are kept too, for diff's file check.
  return name.find('/') == std::string_view::npos &&
         (name.ends_with(".safetensors") || name.ends_with(".json") || name.ends_with(".jinja") ||
          name.ends_with(".model") || name.ends_with(".txt") || name.ends_with(".tiktoken"));
}

// scheme://authority of an http(s) URL (no trailing slash).
std::string url_origin(std::string_view url) {
  size_t scheme_end = url.find("://");
  size_t path = url.find('/', scheme_end + 3);
  return std::string(url.substr(0, path));
}

}  // namespace

bool is_remote_location(const std::string& location) {
  return location.starts_with("hf://") || location.starts_with("https://") ||
         location.starts_with("http://");
}

RemoteLocation parse_remote_location(const std::string& location, const std::string& endpoint) {
  RemoteLocation loc;
  loc.display = location;
  if (location.starts_with("hf://")) {
    std::string_view rest = std::string_view(location).substr(5);
    std::string_view revision = "main";
    if (size_t at = rest.find('@'); at != std::string_view::npos) {
      revision = rest.substr(at + 1);
      rest = rest.substr(0, at);
      if (revision.empty()) throw std::runtime_error(location + ": empty revision after '@'");
    }
    while (rest.ends_with('/')) rest.remove_suffix(1);
    std::vector<std::string_view> parts = split(rest, '/');
    if (parts.size() > 2 || !std::all_of(parts.begin(), parts.end(), valid_repo_part)) {
      throw std::runtime_error(fmt::format(
          "{}: expected hf://ORG/REPO or hf://ORG/REPO@REVISION (letters, digits, '-', '_', '.')",
          location));
    }
    if (std::any_of(revision.begin(), revision.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x21; })) {
      throw std::runtime_error(location + ": the revision contains a space or control character");
    }
    std::string base = endpoint;
    while (base.ends_with('/')) base.pop_back();
    std::string rev = percent_encode(revision, false);  // "refs/pr/1" is one path segment
    loc.base_url = fmt::format("{}/{}/resolve/{}/", base, rest, rev);
    loc.tree_url = fmt::format("{}/api/models/{}/tree/{}", base, rest, rev);
    loc.hub = true;
    loc.repo = std::string(rest);
    loc.revision = std::string(revision);
    return loc;
  }
  if (!location.starts_with("https://") && !location.starts_with("http://"))
    throw std::runtime_error(location + ": not an hf://, https:// or http:// location");
  if (location.find_first_of("?#") != std::string::npos)
    throw std::runtime_error(location + ": give the directory URL without a query or fragment");
  std::string_view url = location;
  if (url.ends_with(".safetensors") || url.ends_with(".json")) {
    throw std::runtime_error(fmt::format(
        "{}: give the checkpoint's directory URL (ending in /resolve/REVISION/), not a file",
        location));
  }
  loc.base_url = location;
  if (!loc.base_url.ends_with('/')) loc.base_url += '/';
  // https://HOST/ORG/REPO/resolve/REV/: the Hub's layout, whose listing API sits beside it.
  std::string origin = url_origin(loc.base_url);
  std::string_view path = std::string_view(loc.base_url).substr(origin.size());
  std::vector<std::string_view> segments = split(path.substr(1, path.size() - 2), '/');
  if ((segments.size() == 4 || segments.size() == 3) &&
      segments[segments.size() - 2] == "resolve") {
    std::string repo = segments.size() == 4 ? fmt::format("{}/{}", segments[0], segments[1])
                                            : std::string(segments[0]);
    loc.tree_url = fmt::format("{}/api/models/{}/tree/{}", origin, repo, segments.back());
  }
  return loc;
}

RemoteEnvironment remote_environment() {
  RemoteEnvironment env;
  if (std::string e = getenv_string("HF_ENDPOINT"); !e.empty()) env.endpoint = e;
  while (env.endpoint.ends_with('/')) env.endpoint.pop_back();
  env.token = getenv_string("HF_TOKEN");
  if (env.token.empty()) env.token = getenv_string("HUGGING_FACE_HUB_TOKEN");
  if (env.token.empty()) {
    // Where `huggingface-cli login` stores it.
    std::string path = getenv_string("HF_TOKEN_PATH");
    if (path.empty()) {
      std::string home = getenv_string("HF_HOME");
      if (home.empty()) {
        std::string user_home = getenv_string("HOME");
        if (!user_home.empty()) home = user_home + "/.cache/huggingface";
      }
      if (!home.empty()) path = home + "/token";
    }
    if (!path.empty()) {
      std::ifstream file(path);
      std::string token;
      if (file && std::getline(file, token) && token.size() < 4096) env.token = token;
    }
  }
  env.token = trim_copy(env.token);
  std::string offline = getenv_string("HF_HUB_OFFLINE");
  for (char& c : offline) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  env.offline = offline == "1" || offline == "ON" || offline == "YES" || offline == "TRUE";
  return env;
}

RemoteStore::RemoteStore(RemoteLocation location, HttpSettings settings)
    : location_(std::move(location)), client_(std::move(settings)) {
  if (!location_.tree_url.empty()) fetch_listing();
}

void RemoteStore::fetch_listing() {
  std::set<std::string> files;
  std::string url = location_.tree_url;
  uint64_t entries = 0, bytes = 0;
  auto too_large = [&](std::string_view what, uint64_t bound) {
    return IoError(
        fmt::format("{}: the listing has more than {} {}; ckptdoctor reads at most "
                    "that many",
                    location_.display, bound, what));
  };
  for (int page = 0; !url.empty(); ++page) {
    if (page == kMaxListingPages) {
      if (!location_.hub) return;
      throw too_large("pages", kMaxListingPages);
    }
    HttpResponse r;
    try {
      r = client_.get(url, std::nullopt, kMaxListingPageBytes);
    } catch (const FileNotFound&) {
      if (!location_.hub) return;  // not the Hub's layout after all: the index names the shards
      throw TransportError(fmt::format(
          "{}: no such repository or revision (HTTP 404 from {}); a private repository also "
          "answers 404 without a token: set HF_TOKEN",
          location_.display, url));
    } catch (const IoError&) {
      // Off the Hub the listing API is a guess: if the files need a token, their own requests
      // will say so.
      if (!location_.hub) return;
      throw;
    }
    bytes += r.body.size();
    if (bytes > kMaxListingBytes) {
      if (!location_.hub) return;
      throw too_large("bytes", kMaxListingBytes);
    }
    try {
      JsonReader reader(r.body, 8);
      if (reader.peek() != JsonType::kArray) {
        if (!location_.hub) return;
        throw TransportError(fmt::format("{}: the listing is not a JSON array", url));
      }
      reader.begin_array();
      std::string key, path, type;
      while (reader.next_element()) {
        if (++entries > kMaxListingEntries) {
          if (!location_.hub) return;
          throw too_large("entries", kMaxListingEntries);
        }
        if (reader.peek() != JsonType::kObject) {
          reader.skip_value();
          continue;
        }
        reader.begin_object();
        bool has_path = false;
        type = "file";
        while (reader.next_key(key)) {
          if (key == "path" && reader.peek() == JsonType::kString) {
            reader.read_string(path);
            has_path = true;
          } else if (key == "type" && reader.peek() == JsonType::kString) {
            reader.read_string(type);
          } else {
            reader.skip_value();
          }
        }
        if (has_path && type == "file" && kept_in_listing(path)) files.insert(path);
      }
      reader.expect_end();
    } catch (const JsonError& e) {
      if (!location_.hub) return;
      throw TransportError(fmt::format("{}: the listing is not valid JSON at byte {}: {}", url,
                                       e.offset(), e.what()));
    }
    // Only the Hub's own pagination is followed, never a link to another origin.
    url = r.next_link;
    if (!url.empty() && url_origin(url) != url_origin(location_.tree_url)) {
      throw TransportError(
          fmt::format("{}: the listing's next page points to another host: {}", url, r.next_link));
    }
  }
  files_ = std::move(files);
  listed_ = true;
}

std::optional<std::vector<StoredFile>> RemoteStore::list_safetensors() {
  if (!listed_) return std::nullopt;
  std::vector<StoredFile> out;
  for (const std::string& name : files_) {
    if (name.ends_with(".safetensors")) out.push_back({name, true});
  }
  return out;
}

ResolvedPath RemoteStore::resolve(std::string_view name) {
  if (std::string reason = unsafe_name_reason(name); !reason.empty())
    return {PathStatus::kUnsafe, "", std::move(reason)};
  std::string url = location_.base_url + percent_encode(name, true);
  // The listing keeps the top level's shards and JSON files only (kept_in_listing): any other
  // name is looked up by its own request.
  if (listed_ && kept_in_listing(name) && !files_.count(std::string(name)))
    return {PathStatus::kMissing, url, ""};
  return {PathStatus::kOk, url, ""};
}

std::unique_ptr<ByteSource> RemoteStore::open(const ResolvedPath& resolved) {
  return HttpSource::open(client_, resolved.path, kFirstRequestBytes);
}

std::string RemoteStore::read_small(const ResolvedPath& resolved, uint64_t max_bytes) {
  try {
    return client_.get(resolved.path, std::nullopt, max_bytes).body;
  } catch (const FileNotFound&) {
    throw;
  } catch (const TransportError&) {
    throw;
  } catch (const IoError& e) {
    throw IoError(fmt::format("{}: {}", resolved.path, e.what()));
  }
}

int RemoteStore::open_parallelism(int requested_threads) const {
  return std::max(requested_threads, kRemoteOpenParallelism);
}

std::unique_ptr<FileStore> open_store(const std::string& location, const HttpSettings& settings) {
  if (!is_remote_location(location)) return open_local_store(location);
  RemoteEnvironment env = remote_environment();
  RemoteLocation parsed;
  try {
    parsed = parse_remote_location(location, env.endpoint);
  } catch (const std::runtime_error& e) {
    throw IoError(e.what());
  }
  if (parsed.hub) {
    std::string cache = hub_cache_dir();
    auto snapshot = find_hub_cache_snapshot(cache, parsed.repo, parsed.revision);
    // Offline, a partial snapshot is what huggingface_hub would load too: scan it as it is.
    if (snapshot && (snapshot->complete || env.offline))
      return std::make_unique<LocalStore>(snapshot->dir);
    if (env.offline) {
      throw IoError(fmt::format(
          "{}: HF_HUB_OFFLINE is set and the local cache ({}) does not hold this revision, so "
          "nothing is read",
          location, cache.empty() ? "no HF_HUB_CACHE, HF_HOME or HOME" : cache));
    }
  } else if (env.offline) {
    throw IoError(fmt::format("{}: HF_HUB_OFFLINE is set, so nothing is fetched", location));
  }
  HttpSettings with_token = settings;
  with_token.bearer_token = env.token;
  with_token.token_host = url_authority(env.endpoint);
  return std::make_unique<RemoteStore>(std::move(parsed), std::move(with_token));
}

}  // namespace ckd

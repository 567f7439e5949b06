#include "report/ci_common.h"

#include <filesystem>

#include <fmt/format.h>

#include "io/paths.h"

namespace ckd {
namespace fs = std::filesystem;

const char* ckptdoctor_version() {
  return CKD_VERSION;
}  // project(VERSION) in CMakeLists.txt

namespace {

std::string repository_path(fs::path p) {
  p = p.lexically_normal();
  if (p.is_absolute()) {
    std::error_code ec;
    fs::path cwd = fs::current_path(ec);
    if (!ec) {
      fs::path rel = p.lexically_relative(cwd);
      if (!rel.empty() && *rel.begin() != "..") p = rel;
    }
  }
  std::string s = p.generic_string();
  while (s.size() > 1 && s.ends_with('/')) s.pop_back();
  return s.empty() ? "." : s;
}

}  // namespace

std::string FindingLocator::path(const Finding& f) const {
  return repository_path(fs::path(report_.dir) / (f.file.empty() ? "config.json" : f.file));
}

std::string FindingLocator::dir_path() const {
  return repository_path(report_.dir);
}

namespace {

// The offset of the first `"key": "<shard>"` entry for a shard file the message names
// ("weight_map names model-00002-of-00002.safetensors ..."), or npos.
size_t index_entry_of_named_shard(const std::string& text, const std::string& message) {
  size_t best = std::string::npos;
  size_t at = 0;
  while ((at = message.find(".safetensors", at)) != std::string::npos) {
    size_t end = at + std::string_view(".safetensors").size();
    size_t begin = message.find_last_of(" ,(", at);
    begin = begin == std::string::npos ? 0 : begin + 1;
    std::string quoted = fmt::format("\"{}\"", message.substr(begin, end - begin));
    for (size_t hit = text.find(quoted); hit != std::string::npos && hit < best;
         hit = text.find(quoted, hit + 1)) {
      size_t before = text.find_last_not_of(" \t\r\n", hit == 0 ? 0 : hit - 1);
      if (hit > 0 && before != std::string::npos && text[before] == ':') {
        best = hit;  // a value: the line of its key
        break;
      }
    }
    at = end;
  }
  return best;
}

}  // namespace

int FindingLocator::line(const Finding& f) {
  if (!f.file.ends_with(".json") || (f.tensor.empty() && f.message.find(".safetensors") ==
                                                              std::string::npos))
    return 1;
  auto it = texts_.find(f.file);
  if (it == texts_.end()) {
    std::string text;
    try {
      text = read_small_file((fs::path(report_.dir) / f.file).string(), 64 << 20);
    } catch (const std::exception&) {
    }
    it = texts_.emplace(f.file, std::move(text)).first;
  }
  const std::string& text = it->second;
  // A tensor's own key; for a finding about a shard the index names (index-missing-shard), the
  // first weight_map entry naming it.
  size_t at = f.tensor.empty() ? index_entry_of_named_shard(text, f.message)
                               : text.find(fmt::format("\"{}\"", f.tensor));
  if (at == std::string::npos) return 1;
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
}

std::string finding_fingerprint(const Finding& f, const std::string& path) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  auto mix = [&](const std::string& s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;  // field separator
    h *= 1099511628211ull;
  };
  mix(f.code);
  mix(path);
  mix(f.tensor);
  return fmt::format("{:016x}", h);
}

}  // namespace ckd

#include "diff/checkpoint_diff.h"

#include <dirent.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "checkpoint/module_table.h"
#include "inspect/inspect.h"
#include "io/sha256.h"
#include "remote/remote_store.h"

namespace ckd {

namespace {

constexpr std::array<std::string_view, 14> kCompanionNames = {
    "tokenizer.json",         "tokenizer_config.json",   "tokenizer.model",
    "special_tokens_map.json", "added_tokens.json",       "chat_template.json",
    "chat_template.jinja",    "generation_config.json",  "preprocessor_config.json",
    "processor_config.json",  "video_preprocessor_config.json", "vocab.json",
    "vocab.txt",              "merges.txt"};

std::string dtype_text(const TensorInfo& t) {
  return t.dtype ? std::string(dtype_name(*t.dtype)) : "?";
}

// The module path of `name` with its last segment (the parameter) dropped.
std::string_view param_of(std::string_view name) { return split_tensor_name(name).second; }

bool has_expert_index(std::string_view name) {
  constexpr std::string_view kExperts = ".experts.";
  size_t at = name.find(kExperts);
  return at != std::string_view::npos && at + kExperts.size() < name.size() &&
         std::isdigit(static_cast<unsigned char>(name[at + kExperts.size()]));
}

// The companion files of a checkpoint: name -> facts. Empty map and false for a lone file.
bool companion_files(const Checkpoint& ck, std::map<std::string, FileFacts>& out) {
  FileStore& store = ck.store_for_reading();
  std::vector<std::string> names;
  if (store.is_local()) {
    const auto& local = static_cast<const LocalStore&>(store);
    if (!local.single_file_name().empty()) return false;
    if (DIR* d = ::opendir(local.real_dir().c_str())) {
      while (dirent* e = ::readdir(d)) {
        if (is_companion_file(e->d_name)) names.emplace_back(e->d_name);
      }
      ::closedir(d);
    }
  } else if (auto* remote = dynamic_cast<const RemoteStore*>(&store);
             remote && remote->listed_files()) {
    std::vector<std::string> listed = *remote->listed_files();
    for (std::string& name : listed) {
      if (is_companion_file(name)) names.push_back(std::move(name));
    }
  } else {
    names.assign(kCompanionNames.begin(), kCompanionNames.end());  // probed one by one
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    ResolvedPath r = store.resolve(name);
    if (r.status == PathStatus::kMissing) continue;
    if (r.status != PathStatus::kOk) {
      throw IoError(fmt::format("{}/{}: {}; it was not read", ck.dir(), name,
                                r.status == PathStatus::kUnsafe ? r.reason : "not a regular file"));
    }
    try {
      std::string bytes = store.read_small(r, kMaxCompanionBytes);
      out[name] = FileFacts{bytes.size(), sha256_hex(bytes)};
    } catch (const FileNotFound&) {
      continue;
    }
  }
  return true;
}

// The declaration as one document: config.json's quantization_config (or legacy
// compression_config) and hf_quant_config.json side by side, so paths read
// "/quantization_config/ignore/3" or "/hf_quant_config.json/quantization/quant_algo".
nlohmann::json quantization_of(const Checkpoint& ck) {
  nlohmann::json q = nlohmann::json::object();
  if (const nlohmann::json* c = ck.config()) {
    for (const char* key : {"quantization_config", "compression_config"}) {
      if (auto it = c->find(key); it != c->end()) q[key] = *it;
    }
  }
  if (const nlohmann::json* h = ck.hf_quant_config()) q["hf_quant_config.json"] = *h;
  return q;
}

nlohmann::json config_without_quantization(const Checkpoint& ck) {
  if (!ck.config()) return nlohmann::json();
  nlohmann::json c = *ck.config();
  c.erase("quantization_config");
  c.erase("compression_config");
  return c;
}

}  // namespace

bool is_companion_file(std::string_view name) {
  if (name.starts_with("tokenizer") || name.starts_with("chat_template") ||
      name.starts_with("vocab.") || name.ends_with(".tiktoken")) {
    return true;
  }
  return std::find(kCompanionNames.begin(), kCompanionNames.end(), name) != kCompanionNames.end();
}

std::vector<JsonChange> diff_json(const std::string& file, const nlohmann::json& a,
                                  const nlohmann::json& b) {
  std::vector<JsonChange> out;
  for (const nlohmann::json& op : nlohmann::json::diff(a, b)) {
    JsonChange change;
    change.file = file;
    change.path = op.value("path", "");
    std::string kind = op.value("op", "");
    nlohmann::json::json_pointer pointer(change.path);
    if (kind == "add") {
      change.change = "added";
      change.b = op.value("value", nlohmann::json());
    } else if (kind == "remove") {
      change.change = "removed";
      change.a = a.at(pointer);
    } else {
      change.change = "changed";
      change.a = a.at(pointer);
      change.b = op.value("value", nlohmann::json());
    }
    out.push_back(std::move(change));
  }
  // The patch removes array elements from the end; a reader wants document order.
  std::stable_sort(out.begin(), out.end(),
                   [](const JsonChange& x, const JsonChange& y) { return x.path < y.path; });
  return out;
}

void diff_tensors(const Checkpoint& a, const Checkpoint& b, CheckpointDiff& out) {
  const auto& an = a.tensor_names();
  const auto& bn = b.tensor_names();
  const auto& ar = a.tensor_refs();
  const auto& br = b.tensor_refs();
  out.a_tensors = an.size();
  out.b_tensors = bn.size();
  auto compare = [&out](std::string_view a_name, const TensorInfo& x, std::string_view b_name,
                        const TensorInfo& y) {
    if (x.dtype == y.dtype && x.shape == y.shape && dtype_text(x) == dtype_text(y)) {
      if (a_name == b_name) ++out.same_tensors;
      return;
    }
    out.changed.push_back({std::string(a_name), std::string(b_name), dtype_text(x), dtype_text(y),
                           x.shape.vector(), y.shape.vector()});
  };
  // Both tables are sorted: one merge pass finds the common names.
  std::vector<size_t> only_a, only_b;
  size_t i = 0, j = 0;
  while (i < an.size() || j < bn.size()) {
    if (j == bn.size() || (i < an.size() && an[i] < bn[j])) {
      only_a.push_back(i++);
    } else if (i == an.size() || bn[j] < an[i]) {
      only_b.push_back(j++);
    } else {
      compare(an[i], *ar[i]->info, bn[j], *br[j]->info);
      ++i;
      ++j;
    }
  }

  // Unmatched names by their comparable key (key_map.h): packed and per-expert names meet.
  std::map<std::string, std::vector<size_t>> a_keys, b_keys;
  for (size_t k : only_a) {
    if (std::string key = normalize_key(an[k]); !key.empty()) a_keys[key].push_back(k);
  }
  for (size_t k : only_b) {
    if (std::string key = normalize_key(bn[k]); !key.empty()) b_keys[key].push_back(k);
  }
  std::unordered_map<std::string, std::string> a_map, b_map;
  for (const auto& [key, v] : a_keys) a_map.emplace(key, std::string(an[v.front()]));
  for (const auto& [key, v] : b_keys) b_map.emplace(key, std::string(bn[v.front()]));
  out.prefix = best_prefix_change(a_map, b_map);
  std::vector<bool> a_done(an.size()), b_done(bn.size());
  for (const auto& [key, a_idx] : a_keys) {
    std::string mapped = out.prefix ? apply_prefix_change(key, *out.prefix) : key;
    auto hit = b_keys.find(mapped);
    if (hit == b_keys.end()) continue;
    const std::vector<size_t>& b_idx = hit->second;
    KeyRename rename;
    std::vector<std::string> kinds;
    if (mapped != key) kinds.push_back("prefix");
    bool experts = a_idx.size() != b_idx.size() ||
                   has_expert_index(an[a_idx.front()]) != has_expert_index(bn[b_idx.front()]);
    if (experts) kinds.push_back("experts");
    if (!experts && param_of(an[a_idx.front()]) != param_of(bn[b_idx.front()]))
      kinds.push_back("packing");
    if (kinds.empty()) kinds.push_back("name");
    rename.kind = fmt::format("{}", fmt::join(kinds, "+"));
    for (size_t k : a_idx) {
      rename.a.emplace_back(an[k]);
      a_done[k] = true;
    }
    for (size_t k : b_idx) {
      rename.b.emplace_back(bn[k]);
      b_done[k] = true;
    }
    if (a_idx.size() == 1 && b_idx.size() == 1) {
      compare(an[a_idx[0]], *ar[a_idx[0]]->info, bn[b_idx[0]], *br[b_idx[0]]->info);
    } else {
      // Per-expert against fused: the shapes differ by construction, a dtype must not (FP8
      // experts repacked into one BF16 tensor are no longer quantized). One entry per rename.
      bool reported = false;
      for (size_t x : a_idx) {
        for (size_t y : b_idx) {
          if (reported || dtype_text(*ar[x]->info) == dtype_text(*br[y]->info)) continue;
          const TensorInfo& ai = *ar[x]->info;
          const TensorInfo& bi = *br[y]->info;
          out.changed.push_back({std::string(an[x]), std::string(bn[y]), dtype_text(ai),
                                 dtype_text(bi), ai.shape.vector(), bi.shape.vector()});
          reported = true;
        }
      }
    }
    out.renamed.push_back(std::move(rename));
  }
  // A prefix that explains no rename (every match needed none) is not worth printing.
  if (out.prefix && std::none_of(out.renamed.begin(), out.renamed.end(), [](const KeyRename& r) {
        return r.kind.find("prefix") != std::string::npos;
      })) {
    out.prefix.reset();
  }
  for (size_t k : only_a) {
    if (!a_done[k]) out.only_in_a.emplace_back(an[k]);
  }
  for (size_t k : only_b) {
    if (!b_done[k]) out.only_in_b.emplace_back(bn[k]);
  }
}

CheckpointDiff diff_checkpoints(const Checkpoint& a, const Checkpoint& b) {
  for (const Checkpoint* ck : {&a, &b}) {
    if (std::string why = unreadable_reason(*ck); !why.empty())
      throw IoError(fmt::format("{}: {}", ck->dir(), why));
  }
  CheckpointDiff out;
  out.a = a.dir();
  out.b = b.dir();
  diff_tensors(a, b, out);
  if (a.config() || b.config()) {
    out.config = diff_json("config.json", config_without_quantization(a),
                           config_without_quantization(b));
  }
  out.quantization = diff_json("quantization", quantization_of(a), quantization_of(b));

  std::map<std::string, FileFacts> fa, fb;
  bool listed_a = companion_files(a, fa);
  bool listed_b = companion_files(b, fb);
  out.files_compared = listed_a && listed_b;
  if (out.files_compared) {
    std::set<std::string> names;
    for (const auto& [name, facts] : fa) names.insert(name);
    for (const auto& [name, facts] : fb) names.insert(name);
    for (const std::string& name : names) {
      auto x = fa.find(name);
      auto y = fb.find(name);
      FileChange change{name, "", std::nullopt, std::nullopt};
      if (x != fa.end()) change.a = x->second;
      if (y != fb.end()) change.b = y->second;
      if (!change.b) {
        change.change = "only_in_a";
      } else if (!change.a) {
        change.change = "only_in_b";
      } else if (change.a->sha256 != change.b->sha256) {
        change.change = "differ";
      } else {
        ++out.files_same;
        continue;
      }
      out.files.push_back(std::move(change));
    }
  }
  return out;
}

}  // namespace ckd

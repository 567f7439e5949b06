#include "checkpoint/checkpoint.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>

#include "io/json_reader.h"
#include "io/paths.h"

namespace ckd {

namespace {

constexpr uint64_t kMaxConfigBytes = 64ull << 20;
constexpr uint64_t kMaxIndexBytes = 512ull << 20;
constexpr const char* kIndexName = "model.safetensors.index.json";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::vector<std::string> list_safetensors(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (ends_with(name, ".safetensors")) out.push_back(name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

double read_json_number(JsonReader& reader, std::string_view text) {
  size_t start = reader.offset();
  reader.skip_value();
  std::string number(text.substr(start, reader.offset() - start));
  return std::strtod(number.c_str(), nullptr);
}

}  // namespace

IndexFile parse_index_json(std::string_view text, std::vector<std::string>* duplicate_keys) {
  IndexFile index;
  JsonReader reader(text, 32);
  reader.begin_object();
  std::string key, tensor, shard;
  bool saw_map = false;
  while (reader.next_key(key)) {
    if (key == "weight_map") {
      saw_map = true;
      reader.begin_object();
      std::unordered_set<std::string> seen;
      while (reader.next_key(tensor)) {
        reader.read_string(shard);
        if (!seen.insert(tensor).second && duplicate_keys) duplicate_keys->push_back(tensor);
        index.weight_map.emplace_back(tensor, shard);
      }
    } else if (key == "metadata" && reader.peek() == JsonType::kObject) {
      reader.begin_object();
      while (reader.next_key(tensor)) {
        if (tensor == "total_size") {
          index.total_size_present = true;
          if (reader.peek() == JsonType::kNumber) {
            index.total_size = read_json_number(reader, text);
          } else {
            reader.skip_value();
          }
        } else {
          reader.skip_value();
        }
      }
    } else {
      reader.skip_value();
    }
  }
  reader.expect_end();
  if (!saw_map) reader.fail("the index has no \"weight_map\" object");
  return index;
}

std::unique_ptr<Checkpoint> Checkpoint::open(const std::string& dir, const OpenOptions& options) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) throw IoError(fmt::format("{}: no such file or directory", dir));
  if (!S_ISDIR(st.st_mode)) throw IoError(fmt::format("{}: not a directory", dir));
  auto ck = std::unique_ptr<Checkpoint>(new Checkpoint());
  ck->dir_ = dir;
  ck->real_dir_ = real_path(dir);
  if (ck->real_dir_.empty()) throw IoError(fmt::format("{}: cannot resolve the directory", dir));

  ck->load_configs();
  ck->load_index();

  std::vector<std::string> present = list_safetensors(ck->real_dir_);
  std::vector<std::string> to_open;
  if (ck->index_) {
    std::set<std::string> referenced;
    for (const auto& [tensor, shard] : ck->index_->weight_map) referenced.insert(shard);
    for (const std::string& name : referenced) {
      ResolvedPath r = resolve_inside(ck->real_dir_, name);
      switch (r.status) {
        case PathStatus::kUnsafe:
          ck->problems_.push_back({LoadProblemKind::kUnsafePath, kIndexName, "",
                                   fmt::format("weight_map names \"{}\": {}; it was not opened", name, r.reason)});
          break;
        case PathStatus::kMissing:
          ck->problems_.push_back({LoadProblemKind::kMissingShard, name, "", ""});
          break;
        case PathStatus::kNotRegular:
          ck->problems_.push_back({LoadProblemKind::kUnreadableShard, name, "", "not a regular file"});
          break;
        case PathStatus::kOk: to_open.push_back(name); break;
      }
    }
    for (const std::string& name : present) {
      if (!referenced.count(name)) ck->orphans_.push_back(name);
    }
  } else {
    to_open = present;
  }
  ck->open_shards(to_open, options.threads);
  ck->build_tensor_table();
  ck->scheme_ = parse_quant_scheme(ck->config(), ck->hf_quant_config());
  return ck;
}

void Checkpoint::load_configs() {
  for (auto [file, slot] : {std::pair{"config.json", &config_},
                            std::pair{"hf_quant_config.json", &hf_quant_config_}}) {
    std::string path = real_dir_ + "/" + file;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) continue;
    try {
      std::string text = read_small_file(path, kMaxConfigBytes);
      // nlohmann's parser is iterative; the depth callback still refuses absurd nesting.
      int depth = 0;
      auto limit_depth = [&depth](int d, nlohmann::json::parse_event_t, nlohmann::json&) {
        depth = std::max(depth, d);
        if (d > 256) throw IoError("nesting deeper than 256 levels");
        return true;
      };
      *slot = nlohmann::json::parse(text, limit_depth);
      if (!(*slot)->is_object()) {
        problems_.push_back({LoadProblemKind::kInvalidConfig, file, "",
                             fmt::format("top level is a JSON {}, not an object", (*slot)->type_name())});
        slot->reset();
      }
    } catch (const std::exception& e) {
      problems_.push_back({LoadProblemKind::kInvalidConfig, file, "", e.what()});
      slot->reset();
    }
  }
}

void Checkpoint::load_index() {
  std::string path = real_dir_ + "/" + kIndexName;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;
  try {
    std::string text = read_small_file(path, kMaxIndexBytes);
    std::vector<std::string> duplicates;
    index_ = parse_index_json(text, &duplicates);
    for (const std::string& name : duplicates) {
      problems_.push_back({LoadProblemKind::kDuplicateIndexKey, kIndexName, name,
                           "weight_map lists this tensor twice; JSON readers keep only the last"});
    }
  } catch (const JsonError& e) {
    problems_.push_back({LoadProblemKind::kInvalidIndex, kIndexName, "",
                         fmt::format("not a valid index at byte {}: {}", e.offset(), e.what())});
  } catch (const std::exception& e) {
    problems_.push_back({LoadProblemKind::kInvalidIndex, kIndexName, "", e.what()});
  }
}

void Checkpoint::open_shards(const std::vector<std::string>& names, int threads) {
  std::vector<std::unique_ptr<Shard>> opened(names.size());
  std::vector<std::string> errors(names.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < names.size(); i = next++) {
      try {
        opened[i] = Shard::parse(MappedFile::open(real_dir_ + "/" + names[i]), names[i]);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    }
  };
  int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  n = std::min<int>(n, static_cast<int>(names.size()));
  std::vector<std::thread> pool;
  for (int t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  for (size_t i = 0; i < names.size(); ++i) {
    if (opened[i]) {
      shards_.push_back(std::move(opened[i]));
    } else {
      problems_.push_back({LoadProblemKind::kUnreadableShard, names[i], "", errors[i]});
    }
  }
}

void Checkpoint::build_tensor_table() {
  std::map<std::string, std::vector<const Shard*>> holders;
  size_t total = 0;
  for (const auto& s : shards_) total += s->tensors().size();
  tensors_.reserve(total);
  names_.reserve(total);
  for (const auto& s : shards_) {
    for (const TensorInfo& t : s->tensors()) {
      if (t.duplicate) continue;
      auto [it, inserted] = tensors_.emplace(t.name, TensorRef{s.get(), &t});
      if (inserted) {
        names_.push_back(t.name);
      } else {
        auto& list = holders[t.name];
        if (list.empty()) list.push_back(it->second.shard);
        list.push_back(s.get());
      }
    }
  }
  for (auto& [name, list] : holders) cross_duplicates_.emplace_back(name, std::move(list));
  std::sort(names_.begin(), names_.end());
  std::vector<const TensorRef*> refs;
  refs.reserve(names_.size());
  for (const std::string& n : names_) refs.push_back(&tensors_.at(n));
  modules_.build(names_, refs);
}

const Shard* Checkpoint::shard(const std::string& name) const {
  for (const auto& s : shards_) {
    if (s->display_name() == name) return s.get();
  }
  return nullptr;
}

const TensorRef* Checkpoint::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

const nlohmann::json* Checkpoint::config_value(const char* key) const {
  if (!config_) return nullptr;
  if (config_->contains(key)) return &(*config_)[key];
  for (const char* nested : {"text_config", "language_config", "llm_config"}) {
    if (config_->contains(nested) && (*config_)[nested].is_object() && (*config_)[nested].contains(key)) {
      return &(*config_)[nested][key];
    }
  }
  return nullptr;
}

}  // namespace ckd

#include "fix/plan.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "checkpoint/module_table.h"
#include "io/json_depth.h"
#include "io/ordered_json_insert.h"
#include "io/paths.h"

namespace ckd {
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMaxConfigBytes = 64 << 20;

// Directories never copied: version control, huggingface_hub's download bookkeeping (it
// describes the old files), and ckptdoctor's own staging.
bool skipped_directory(const std::string& relative) {
  return relative == ".git" || relative == ".cache/huggingface" ||
         relative.starts_with(".ckptdoctor-");
}

bool is_temporary_name(const std::string& relative) {
  std::string base = fs::path(relative).filename().string();
  return base.starts_with(".ckptdoctor-");
}

// Every file of the checkpoint directory, relative, sorted; symlinks must stay inside.
std::vector<std::string> list_files(const Checkpoint& ck) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(ck.real_dir(), ec), end;
  if (ec) throw FixError(fmt::format("{}: cannot list the directory: {}", ck.dir(), ec.message()));
  for (; it != end; it.increment(ec)) {
    if (ec)
      throw FixError(fmt::format("{}: cannot list the directory: {}", ck.dir(), ec.message()));
    // Lexically: fs::relative resolves symlinks, which turns a hub snapshot's links into
    // "../../blobs/..." names.
    std::string rel = it->path().lexically_relative(ck.real_dir()).generic_string();
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      if (skipped_directory(rel)) it.disable_recursion_pending();
      continue;
    }
    if (is_temporary_name(rel)) continue;
    ResolvedPath r = resolve_inside(ck.real_dir(), rel, ck.hub_blobs_dir());
    if (r.status == PathStatus::kUnsafe) {
      throw FixError(fmt::format("{}: {}; refusing to copy it into the output (remove the link)",
                                 rel, r.reason));
    }
    if (r.status != PathStatus::kOk) {
      throw FixError(fmt::format("{}: not a regular file; refusing to copy it", rel));
    }
    out.push_back(rel);
  }
  std::sort(out.begin(), out.end());
  return out;
}

size_t edit_strings(nlohmann::ordered_json& value,
                    const std::function<std::string(const std::string&)>& edit) {
  size_t changed = 0;
  if (value.is_string()) {
    std::string after = edit(value.get<std::string>());
    if (after != value.get<std::string>()) {
      value = after;
      ++changed;
    }
  } else if (value.is_array()) {
    for (auto& item : value) changed += edit_strings(item, edit);
  } else if (value.is_object()) {
    // Inserted through a hash index: ordered_json's operator[] searches its keys linearly.
    nlohmann::ordered_json rebuilt = nlohmann::ordered_json::object();
    OrderedObjectInserter members(rebuilt);
    for (auto& [key, item] : value.items()) {
      std::string new_key = edit(key);
      if (new_key != key) ++changed;
      changed += edit_strings(item, edit);
      members.slot(std::move(new_key)) = std::move(item);
    }
    value = std::move(rebuilt);
  }
  return changed;
}

}  // namespace

bool OutputShard::changed_names() const {
  return std::any_of(tensors.begin(), tensors.end(), [](const OutputTensor& t) {
    return t.dropped || !t.source || t.name != t.source->name;
  });
}

void FixSummary::add(std::string example) {
  ++count;
  if (examples.size() < 2) examples.push_back(std::move(example));
}

bool FixPlan::changes_anything() const {
  if (index_changed || !edited_files.empty()) return true;
  return std::any_of(shards.begin(), shards.end(), [](const OutputShard& s) { return s.rewrite; });
}

FixSummary& FixPlan::summary(const std::string& fix, const std::string& repairs,
                             const std::string& what, bool unsafe) {
  for (FixSummary& s : summaries) {
    if (s.fix == fix && s.repairs == repairs && s.what == what) return s;
  }
  summaries.push_back(FixSummary{fix, repairs, unsafe, what, 0, {}});
  return summaries.back();
}

namespace {

// bitsandbytes saves a 4-bit weight's quant state as "<weight>.absmax", "<weight>.quant_state.
// bitsandbytes__nf4", ... (nn/modules.py Linear4bit._save_to_state_dict): when a rename moves the
// weight, they move with it, so a rename written for weights ("\.weight$") leaves none behind.
std::string renamed_with_weight(const std::string& name,
                                const std::function<std::string(const std::string&)>& rename) {
  auto [module, param] = split_tensor_name(name);
  if (!param.starts_with("weight.")) return rename(name);
  std::string weight = std::string(module) + ".weight";
  std::string moved = rename(weight);
  if (moved == weight) return rename(name);  // a rename of the state tensor itself
  return moved + name.substr(weight.size());
}

}  // namespace

void FixPlan::rename_tensors(const std::string& fix, const std::string& repairs,
                             const std::function<std::string(const std::string&)>& rename) {
  FixSummary& s = summary(fix, repairs, "tensors renamed");
  for_each_tensor([&](OutputShard&, OutputTensor& t) {
    std::string after = renamed_with_weight(t.name, rename);
    if (after == t.name) return;
    s.add(fmt::format("{} -> {}", t.name, after));
    t.name = std::move(after);
  });
}

FixPlan initial_plan(const Checkpoint& ck) {
  for (const LoadProblem& p : ck.problems()) {
    switch (p.kind) {
      case LoadProblemKind::kMissingShard:
        throw FixError(
            fmt::format("{}: the index names this shard but it does not exist; "
                        "download it first (no fix can recreate its tensors)",
                        p.file));
      case LoadProblemKind::kUnsafePath:
      case LoadProblemKind::kUnreadableShard:
        throw FixError(fmt::format("{}: {}; fix it before rewriting the checkpoint", p.file,
                                   p.message.empty() ? "cannot be read" : p.message));
      default:
        break;
    }
  }
  if (!ck.cross_shard_duplicates().empty()) {
    const auto& [name, holders] = ck.cross_shard_duplicates().front();
    throw FixError(fmt::format(
        "tensor \"{}\" is stored in {} shards ({} and {}); remove the stale copy first, a "
        "rewrite cannot tell which one is right",
        name, holders.size(), holders[0]->display_name(), holders[1]->display_name()));
  }
  FixPlan plan;
  for (const auto& shard : ck.shards()) {
    if (!shard->loadable() && !shard->only_padding_rejected()) {
      std::string why = "it does not load";
      for (const ShardIssue& i : shard->issues()) {
        if (i.rejected()) {
          why = i.tensor.empty() ? i.message : fmt::format("\"{}\": {}", i.tensor, i.message);
          break;
        }
      }
      throw FixError(fmt::format(
          "{}: cannot be rewritten without loss: {} (re-download or re-export it first)",
          shard->display_name(), why));
    }
    OutputShard out;
    out.file = shard->display_name();
    out.source = shard.get();
    if (shard->metadata()) out.metadata = *shard->metadata();
    std::vector<const TensorInfo*> order;
    for (const TensorInfo& t : shard->tensors()) order.push_back(&t);
    std::stable_sort(order.begin(), order.end(),
                     [](const TensorInfo* a, const TensorInfo* b) { return a->begin < b->begin; });
    for (const TensorInfo* t : order)
      out.tensors.push_back({std::string(t->name), *t->dtype, t->shape, t, {}, false});
    plan.shards.push_back(std::move(out));
  }
  return plan;
}

std::string index_json_for(const FixPlan& plan, nlohmann::ordered_json metadata) {
  std::vector<std::pair<std::string_view, std::string_view>> entries;
  uint64_t total = 0;
  for (const OutputShard& s : plan.shards) {
    for (const OutputTensor& t : s.tensors) {
      if (t.dropped) continue;
      entries.emplace_back(t.name, s.file);
      total += t.nbytes();
    }
  }
  std::sort(entries.begin(), entries.end());
  if (!metadata.is_object()) metadata = nlohmann::ordered_json::object();
  metadata["total_size"] = total;
  // transformers writes json.dumps(index, indent=2, sort_keys=True) + "\n".
  nlohmann::json sorted_metadata = metadata;
  std::string out = "{\n  \"metadata\": ";
  std::string meta = sorted_metadata.dump(2, ' ', true);
  for (char c : meta) {
    out += c;
    if (c == '\n') out += "  ";
  }
  out += ",\n  \"weight_map\": {";
  bool first = true;
  for (const auto& [name, file] : entries) {
    out += first ? "\n    " : ",\n    ";
    first = false;
    out += nlohmann::json(std::string(name)).dump(-1, ' ', true);
    out += ": ";
    out += nlohmann::json(std::string(file)).dump(-1, ' ', true);
  }
  out += first ? "}\n}\n" : "\n  }\n}\n";
  return out;
}

namespace {

// The output index as name -> file, and whether it differs from the source's.
bool index_differs(const Checkpoint& ck, const FixPlan& plan) {
  const auto& index = ck.index();
  if (!index) return true;
  std::unordered_map<std::string_view, std::string_view> old_map;
  for (size_t i = 0; i < index->size(); ++i) old_map[index->tensor(i)] = index->shard_of(i);
  size_t count = 0;
  uint64_t total = 0;
  for (const OutputShard& s : plan.shards) {
    for (const OutputTensor& t : s.tensors) {
      if (t.dropped) continue;
      ++count;
      total += t.nbytes();
      auto it = old_map.find(t.name);
      if (it == old_map.end() || it->second != s.file) return true;
    }
  }
  return count != old_map.size() || !index->total_size ||
         *index->total_size != static_cast<double>(total);
}

// The source index's "metadata" object (weight_map is skipped while parsing: an ordered_json
// object of 60k keys would cost quadratic time).
nlohmann::ordered_json source_index_metadata(const Checkpoint& ck) {
  try {
    ResolvedPath r = resolve_inside(ck.real_dir(), kIndexFileName, ck.hub_blobs_dir());
    if (r.status == PathStatus::kOk) {
      auto doc = parse_json_capped<nlohmann::ordered_json>(read_small_file(r.path, kMaxConfigBytes),
                                                           "weight_map");
      if (doc.is_object() && doc.contains("metadata") && doc["metadata"].is_object())
        return doc["metadata"];
    }
  } catch (const std::exception&) {
  }
  return nlohmann::ordered_json::object();
}

// Keeps the source's order (runs of tensors copy as one range) unless that would leave a
// tensor unaligned for its element size; then the reference writer's order: widest dtype
// first, then name.
void order_for_alignment(OutputShard& s) {
  uint64_t offset = 0;
  bool aligned = true;
  for (const OutputTensor& t : s.tensors) {
    if (t.dropped) continue;
    uint64_t align = std::max<uint64_t>(1, dtype_bits(t.dtype) / 8);
    aligned = aligned && offset % align == 0;
    offset += t.nbytes();
  }
  if (aligned) return;
  std::stable_sort(s.tensors.begin(), s.tensors.end(),
                   [](const OutputTensor& a, const OutputTensor& b) {
                     if (a.dtype != b.dtype)
                       return static_cast<int>(a.dtype) > static_cast<int>(b.dtype);
                     return a.name < b.name;
                   });
}

}  // namespace

void finish_plan(const Checkpoint& ck, FixPlan& plan) {
  // Two source tensors must never end up under one name.
  std::unordered_map<std::string_view, const OutputTensor*> owner;
  std::unordered_map<const OutputTensor*, const OutputShard*> shard_of;
  for (const OutputShard& s : plan.shards) {
    for (const OutputTensor& t : s.tensors) {
      if (t.dropped) continue;
      auto [it, inserted] = owner.emplace(t.name, &t);
      shard_of[&t] = &s;
      if (!inserted) {
        const OutputTensor* other = it->second;
        auto origin = [](const OutputTensor* x) {
          return x->source ? fmt::format("\"{}\"", x->source->name) : std::string("a new tensor");
        };
        throw FixError(fmt::format(
            "collision: {} ({}) and {} ({}) would both be named \"{}\"; nothing was written",
            origin(other), shard_of[other]->file, origin(&t), s.file, t.name));
      }
    }
  }
  for (OutputShard& s : plan.shards) {
    if (s.changed_names()) s.rewrite = true;
    if (!s.rewrite) continue;
    if (!s.metadata.count("format")) s.metadata["format"] = "pt";
    order_for_alignment(s);
  }

  bool moved = std::any_of(plan.shards.begin(), plan.shards.end(),
                           [](const OutputShard& s) { return s.changed_names(); });
  bool want_index = ck.has_index_file() || (plan.regenerate_index && plan.shards.size() > 1);
  if (want_index && (moved || plan.regenerate_index) && index_differs(ck, plan)) {
    plan.index_text = index_json_for(plan, source_index_metadata(ck));
    plan.index_changed = true;
    if (!moved) {
      FixSummary& s =
          plan.summary("regenerate-index", "", "index file regenerated from the shard headers");
      s.add(ck.has_index_file() ? "weight_map and total_size recomputed"
                                : "model.safetensors.index.json created");
    }
  }

  std::set<std::string> written;
  for (const OutputShard& s : plan.shards) written.insert(s.file);
  if (plan.index_text) written.insert(kIndexFileName);
  for (const auto& [name, text] : plan.edited_files) written.insert(name);
  plan.copied_files.clear();
  for (std::string& rel : list_files(ck)) {
    if (!written.count(rel)) plan.copied_files.push_back(std::move(rel));
  }
}

size_t edit_quantization_config_strings(
    const Checkpoint& ck, FixPlan& plan,
    const std::function<std::string(const std::string&)>& edit) {
  size_t changed = 0;
  for (const char* file : {"config.json", "hf_quant_config.json"}) {
    std::string text;
    auto edited = plan.edited_files.find(file);
    if (edited != plan.edited_files.end()) {
      text = edited->second;
    } else {
      ResolvedPath r = resolve_inside(ck.real_dir(), file, ck.hub_blobs_dir());
      if (r.status != PathStatus::kOk) continue;
      text = read_small_file(r.path, kMaxConfigBytes);
    }
    nlohmann::ordered_json doc;
    try {
      doc = parse_json_capped<nlohmann::ordered_json>(text);
    } catch (const std::exception&) {
      continue;  // an unparsable config is copied as it is (the scan reports it)
    }
    size_t n = 0;
    if (std::string_view(file) == "config.json") {
      // "quantization": MLX's, whose per-module overrides are keyed by module path.
      for (const char* key : {"quantization_config", "compression_config", "quantization"}) {
        if (doc.is_object() && doc.contains(key)) n += edit_strings(doc[key], edit);
      }
    } else {
      n = edit_strings(doc, edit);
    }
    if (n == 0) continue;
    changed += n;
    plan.edited_files[file] = doc.dump(2, ' ', true) + "\n";
  }
  return changed;
}

}  // namespace ckd

#include "checkpoint/checkpoint.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <unordered_set>

#include <fmt/format.h>

#include "checkpoint/file_store.h"
#include "checkpoint/scheme_readers.h"
#include "io/json_depth.h"
#include "io/json_reader.h"
#include "io/parallel.h"
#include "io/progress.h"
#include "io/paths.h"
#include "io/trace.h"

namespace ckd {

namespace {

constexpr uint64_t kMaxConfigBytes = 64ull << 20;
constexpr uint64_t kMaxIndexBytes = 512ull << 20;

double read_json_number(JsonReader& reader, std::string_view text) {
  size_t start = reader.offset();
  reader.skip_value();
  std::string number(text.substr(start, reader.offset() - start));
  return std::strtod(number.c_str(), nullptr);
}

// Parses shards on a pool of workers: name -> (shard, or the error that stopped it). A missing
// file (removed since the listing) is reported as missing; a transport failure stops the scan.
struct ParsedShard {
  std::unique_ptr<Shard> shard;
  std::string error;
  bool missing = false;
};
using ParsedShards = std::map<std::string, ParsedShard>;

// `first_jobs` are taken by the first free workers before any shard, in order: the index parse
// and the work that needs only the configs share the pool instead of competing with it for the
// cores (and, longest first, do not end up alone on one core after the last shard).
ParsedShards parse_shards(FileStore& store, const std::vector<ResolvedPath>& files,
                          const std::vector<std::string>& names, int threads,
                          ProgressLine& progress,
                          const std::vector<std::function<void()>>& first_jobs = {}) {
  std::vector<ParsedShard> parsed(names.size());
  std::exception_ptr transport_failure;
  std::mutex failure_mutex;
  const size_t offset = first_jobs.size();
  parallel_for(names.size() + offset, store.open_parallelism(threads), [&](size_t j) {
    if (j < offset) {
      first_jobs[j]();
      return;
    }
    size_t i = j - offset;
    try {
      parsed[i].shard = Shard::parse(store.open(files[i]), names[i], store.max_header_bytes());
      parsed[i].shard->source().release_views();  // the header is parsed into owned strings
    } catch (const FileNotFound&) {
      parsed[i].missing = true;
    } catch (const TransportError&) {
      std::lock_guard lock(failure_mutex);
      if (!transport_failure) transport_failure = std::current_exception();
    } catch (const std::exception& e) {
      parsed[i].error = e.what();
    }
    progress.add(1);
  });
  if (transport_failure) std::rethrow_exception(transport_failure);
  ParsedShards out;
  for (size_t i = 0; i < names.size(); ++i) out[names[i]] = std::move(parsed[i]);
  return out;
}

}  // namespace

IndexFile parse_index_json(std::string text, std::vector<std::string>* duplicate_keys) {
  auto owned = std::make_shared<const std::string>(std::move(text));
  std::string_view view = *owned;
  return parse_index_json(view, std::move(owned), duplicate_keys);
}

IndexFile parse_index_json(std::string_view text, std::shared_ptr<const void> owner,
                           std::vector<std::string>* duplicate_keys) {
  IndexFile index;
  index.text_owner = std::move(owner);
  index.text = text;
  JsonReader reader(text, 32);
  reader.begin_object();
  std::string key, tensor, shard;
  std::string_view name;
  bool saw_map = false;
  while (reader.next_key(key)) {
    if (key == "weight_map") {
      saw_map = true;
      reader.begin_object();
      std::unordered_map<std::string, uint32_t> shard_ids;
      // An upper bound (an entry takes at least 6 bytes of the text), so it never regrows: a
      // regrowth copies megabytes into freshly faulted pages. Pages never written are never
      // touched.
      index.entries.reserve(text.size() / 6 + 1);
      uint32_t last_shard = 0;
      while (true) {
        // Nearly every entry is `"name": "shard"` with plain strings: read in one pass.
        std::string_view shard_name;
        if (!reader.next_plain_string_member(name, shard_name)) {
          if (!reader.next_key_view(name, tensor)) break;
          shard_name = reader.read_string_view(shard);
        }
        // Consecutive entries usually name the same shard: skip the hash lookup then.
        if (index.shard_names.empty() || shard_name != index.shard_names[last_shard]) {
          std::string owned(shard_name);
          auto it = shard_ids.find(owned);
          if (it == shard_ids.end()) {
            it = shard_ids.emplace(owned, static_cast<uint32_t>(index.shard_names.size())).first;
            index.shard_names.push_back(std::move(owned));
          }
          last_shard = it->second;
        }
        if (name.size() > UINT32_MAX) reader.fail("tensor name longer than 4 GiB");
        if (name.data() >= text.data() && name.data() < text.data() + text.size()) {
          index.entries.push_back({static_cast<uint64_t>(name.data() - text.data()),
                                   static_cast<uint32_t>(name.size()), last_shard});
        } else {  // unescaped into the scratch string: kept in the blob
          index.entries.push_back({index.names_blob.size() | IndexFile::kInBlob,
                                   static_cast<uint32_t>(name.size()), last_shard});
          index.names_blob += name;
        }
      }
      if (duplicate_keys) {
        // Sorting views finds repeated keys without hashing every name a second time.
        std::vector<std::string_view> names;
        names.reserve(index.size());
        for (size_t i = 0; i < index.size(); ++i) names.push_back(index.tensor(i));
        // Writers emit weight_map sorted; sort only when it is not.
        if (!std::is_sorted(names.begin(), names.end())) std::sort(names.begin(), names.end());
        for (size_t i = 1; i < names.size(); ++i) {
          if (names[i] == names[i - 1] && (i < 2 || names[i - 2] != names[i]))
            duplicate_keys->emplace_back(names[i]);
        }
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

namespace {
void load_standalone_quant_config(FileStore& store, QuantScheme& scheme,
                                  std::vector<LoadProblem>& problems);
}  // namespace

std::unique_ptr<Checkpoint> Checkpoint::open(const std::string& dir, const OpenOptions& options) {
  return open(std::make_unique<LocalStore>(dir), options);
}

std::unique_ptr<Checkpoint> Checkpoint::open(std::unique_ptr<FileStore> store,
                                             const OpenOptions& options) {
  auto ck = std::unique_ptr<Checkpoint>(new Checkpoint());
  FileStore& files = *store;
  ck->store_ = std::move(store);
  ck->dir_ = files.location();
  if (files.is_local()) {
    const auto& local = static_cast<const LocalStore&>(files);
    ck->real_dir_ = local.real_dir();
    ck->hub_blobs_dir_ = local.hub_blobs_dir();
  }

  std::optional<PhaseTimer> before_shards(std::in_place, "configs + listing");
  ck->load_configs();
  std::optional<std::vector<StoredFile>> listing = files.list_safetensors();
  std::vector<std::string> present;  // listed *.safetensors files
  if (listing) {
    for (const StoredFile& f : *listing) present.push_back(f.name);
  }
  ResolvedPath index_path = files.resolve(kIndexFileName);
  bool has_index = index_path.status != PathStatus::kMissing;

  // The index parse is the first job of the pool that parses the shards listed up front (see
  // StoredFile::open_early); the others are opened once the index has been read and resolve()
  // has vetted their names.
  std::vector<std::function<void()>> first_jobs;
  if (has_index) {
    first_jobs.push_back([&ck, &index_path] {
      PhaseTimer timer("index");
      ck->load_index(index_path);
    });
  }
  // The quantization scheme and the caller's work that reads only the configs and the scheme
  // (the scan's architecture model) need no shard: they run beside the headers.
  std::vector<LoadProblem> scheme_problems;
  first_jobs.push_back([&ck, &options, &scheme_problems] {
    {
      PhaseTimer timer("quantization scheme");
      ck->scheme_ = parse_quant_scheme(ck->config(), ck->hf_quant_config());
      if (ck->scheme_.method == QuantMethod::kNone)
        load_standalone_quant_config(*ck->store_, ck->scheme_, scheme_problems);
    }
    if (options.beside_shard_headers) options.beside_shard_headers(*ck);
  });
  std::vector<std::string> early;
  std::vector<ResolvedPath> early_paths;
  std::map<std::string, ResolvedPath> resolved;  // each name is resolved once
  if (listing) {
    for (const StoredFile& f : *listing) {
      if (!f.open_early) continue;
      ResolvedPath r = files.resolve(f.name);
      resolved.emplace(f.name, r);
      if (r.status != PathStatus::kOk) continue;
      early.push_back(f.name);
      early_paths.push_back(std::move(r));
    }
  }
  ParsedShards parsed;
  ProgressLine progress(options.progress && !files.is_local(), "read the headers of",
                        early.size(), ProgressLine::Unit::kItems, "shards");
  before_shards.reset();
  {
    PhaseTimer timer("shard headers + index");
    parsed = parse_shards(files, early_paths, early, options.threads, progress, first_jobs);
  }
  if (ck->transport_failure_) std::rethrow_exception(ck->transport_failure_);
  ck->has_index_file_ = has_index && !ck->index_missing_;

  // The shards to load: those the index names, or without a readable index every listed file
  // (for a store that cannot list, the reference loader's single-file name).
  std::set<std::string> wanted;
  bool follow_index = ck->has_index_file_ && ck->index_;
  if (follow_index) {
    wanted.insert(ck->index_->shard_names.begin(), ck->index_->shard_names.end());
  } else if (listing) {
    wanted.insert(present.begin(), present.end());
  } else {
    wanted.insert("model.safetensors");
  }
  std::vector<std::string> to_open;
  {
    std::vector<std::string> late;  // vetted, but not parsed yet (symlinks, unlisted files)
    std::vector<ResolvedPath> late_paths;
    for (const std::string& name : wanted) {
      auto known = resolved.find(name);
      ResolvedPath r = known != resolved.end() ? std::move(known->second) : files.resolve(name);
      switch (r.status) {
        case PathStatus::kUnsafe:
          ck->problems_.push_back(
              {LoadProblemKind::kUnsafePath, follow_index ? kIndexFileName : name, "",
               fmt::format("{} \"{}\": {}; it was not opened",
                           follow_index ? "weight_map names" : "shard", name, r.reason)});
          break;
        case PathStatus::kMissing:
          // Without a listing and an index, a missing model.safetensors means "no shards".
          if (follow_index || listing)
            ck->problems_.push_back({LoadProblemKind::kMissingShard, name, "", ""});
          break;
        case PathStatus::kNotRegular:
          ck->problems_.push_back(
              {LoadProblemKind::kUnreadableShard, name, "", "not a regular file"});
          break;
        case PathStatus::kOk:
          to_open.push_back(name);
          if (!parsed.count(name)) {
            late.push_back(name);
            late_paths.push_back(std::move(r));
          }
          break;
      }
    }
    progress.set_total(early.size() + late.size());
    ParsedShards more = parse_shards(files, late_paths, late, options.threads, progress);
    for (auto& entry : more) parsed[entry.first] = std::move(entry.second);
  }
  if (follow_index) {
    for (const std::string& name : present) {
      if (!wanted.count(name)) ck->orphans_.push_back(name);
    }
  }
  for (const std::string& name : to_open) {
    ParsedShard& p = parsed[name];
    if (p.shard) {
      ck->shard_by_name_[name] = p.shard.get();
      ck->shards_.push_back(std::move(p.shard));
    } else if (p.missing) {
      if (follow_index || listing)
        ck->problems_.push_back({LoadProblemKind::kMissingShard, name, "", ""});
    } else {
      ck->problems_.push_back({LoadProblemKind::kUnreadableShard, name, "", p.error});
    }
  }
  if (options.beside_tensor_table) {
    ck->beside_work_ = std::make_unique<SideThread>(
        [c = ck.get(), work = options.beside_tensor_table] { work(*c); },
        worker_count(options.threads) > 1);
  }
  {
    PhaseTimer timer("tensor table");
    ck->build_tensor_table(options.threads);
  }
  ck->problems_.insert(ck->problems_.end(), std::make_move_iterator(scheme_problems.begin()),
                       std::make_move_iterator(scheme_problems.end()));
  {
    PhaseTimer timer("module groups");
    for (const std::string& message : ck->scheme_.invalid) {
      ck->problems_.push_back(
          {LoadProblemKind::kInvalidConfig, ck->scheme_.source_file, "", message});
    }
    // Each module's declaration is resolved on its own: chunks of modules on every core.
    std::vector<Module>& modules = ck->modules_.mutable_modules();
    constexpr size_t kChunk = 2048;
    parallel_for((modules.size() + kChunk - 1) / kChunk, options.threads, [&](size_t chunk) {
      size_t end = std::min(modules.size(), (chunk + 1) * kChunk);
      QuantScheme::IgnoreWalk ignore(ck->scheme_);  // neighbours share their parents' lookups
      for (size_t i = chunk * kChunk; i < end; ++i) {
        Module& m = modules[i];
        m.ignored = ignore.ignored_by(m.path, m.linear);
        m.group = ck->resolve_group(m);
      }
    });
  }
  return ck;
}

Checkpoint::~Checkpoint() = default;

void Checkpoint::finish_beside_work() {
  if (beside_work_) beside_work_->finish();
}

void Checkpoint::load_configs() {
  for (auto [file, slot] :
       {std::pair{"config.json", &config_}, std::pair{"hf_quant_config.json", &hf_quant_config_}}) {
    // Config files are untrusted names too: a symlink out of the checkpoint is never read.
    ResolvedPath r = store_->resolve(file);
    if (r.status == PathStatus::kMissing) continue;
    if (r.status != PathStatus::kOk) {
      bool unsafe = r.status == PathStatus::kUnsafe;
      problems_.push_back({unsafe ? LoadProblemKind::kUnsafePath : LoadProblemKind::kInvalidConfig,
                           file, "",
                           fmt::format("{}: {}; it was not opened", file,
                                       unsafe ? r.reason : "not a regular file")});
      continue;
    }
    try {
      std::string text = store_->read_small(r, kMaxConfigBytes);
      *slot = parse_json_capped(text);
      if (!(*slot)->is_object()) {
        problems_.push_back(
            {LoadProblemKind::kInvalidConfig, file, "",
             fmt::format("top level is a JSON {}, not an object", (*slot)->type_name())});
        slot->reset();
      }
    } catch (const FileNotFound&) {
      slot->reset();
    } catch (const TransportError&) {
      throw;
    } catch (const std::exception& e) {
      problems_.push_back({LoadProblemKind::kInvalidConfig, file, "", e.what()});
      slot->reset();
    }
  }
}

// Repositories that declare GPTQ / AWQ only in the quantizer's own file: vLLM's GPTQConfig and
// AWQConfig get_config_filenames() (quantize_config.json; AWQ also quant_config.json), the
// file GPTQModel (quantization/config.py QUANT_CONFIG_FILENAME) and AutoGPTQ write beside
// config.json.
namespace {

void load_standalone_quant_config(FileStore& store, QuantScheme& scheme,
                                  std::vector<LoadProblem>& problems) {
  for (const char* file : {"quantize_config.json", "quant_config.json"}) {
    ResolvedPath r = store.resolve(file);
    if (r.status == PathStatus::kMissing) continue;
    if (r.status != PathStatus::kOk) {
      bool unsafe = r.status == PathStatus::kUnsafe;
      problems.push_back({unsafe ? LoadProblemKind::kUnsafePath : LoadProblemKind::kInvalidConfig,
                          file, "",
                          fmt::format("{}: {}; it was not opened", file,
                                      unsafe ? r.reason : "not a regular file")});
      return;
    }
    try {
      nlohmann::json j = parse_json_capped(store.read_small(r, kMaxConfigBytes));
      if (!j.is_object()) {
        problems.push_back({LoadProblemKind::kInvalidConfig, file, "",
                             fmt::format("top level is a JSON {}, not an object", j.type_name())});
        return;
      }
      scheme = parse_standalone_quant_config(j, file);
      for (const std::string& message : scheme.invalid)
        problems.push_back({LoadProblemKind::kInvalidConfig, file, "", message});
    } catch (const FileNotFound&) {
      continue;
    } catch (const TransportError&) {
      throw;
    } catch (const std::exception& e) {
      problems.push_back({LoadProblemKind::kInvalidConfig, file, "", e.what()});
    }
    return;
  }
}

}  // namespace

void Checkpoint::load_index(const ResolvedPath& r) {
  if (r.status != PathStatus::kOk) {
    problems_.push_back(
        {r.status == PathStatus::kUnsafe ? LoadProblemKind::kUnsafePath
                                         : LoadProblemKind::kInvalidIndex,
         kIndexFileName, "",
         fmt::format("{}: {}; it was not opened", kIndexFileName,
                     r.status == PathStatus::kUnsafe ? r.reason : "not a regular file")});
    return;
  }
  try {
    // Opened as a byte source: read once (pread locally), parsed in place.
    std::shared_ptr<ByteSource> file = store_->open(r);
    if (file->size() > kMaxIndexBytes) {
      throw IoError(fmt::format("{} bytes is over the {}-byte limit for an index", file->size(),
                                kMaxIndexBytes));
    }
    std::string_view text = file->read(0, file->size());
    std::vector<std::string> duplicates;
    index_ = parse_index_json(text, file, &duplicates);  // the names stay in the file's buffer
    for (const std::string& name : duplicates) {
      problems_.push_back({LoadProblemKind::kDuplicateIndexKey, kIndexFileName, name,
                           "weight_map lists this tensor twice; JSON readers keep only the last"});
    }
  } catch (const FileNotFound&) {
    index_missing_ = true;
  } catch (const TransportError&) {
    transport_failure_ = std::current_exception();
  } catch (const JsonError& e) {
    problems_.push_back({LoadProblemKind::kInvalidIndex, kIndexFileName, "",
                         fmt::format("not a valid index at byte {}: {}", e.offset(), e.what())});
  } catch (const std::exception& e) {
    problems_.push_back({LoadProblemKind::kInvalidIndex, kIndexFileName, "", e.what()});
  }
}

void Checkpoint::build_tensor_table(int threads) {
  // Each shard's names are already sorted: merge them (a heap over the shards) into one
  // sorted table. Binary search serves find(); equal neighbours are cross-shard duplicates.
  struct Cursor {
    size_t shard;
    size_t next;  // position in the shard's by_name() order
  };
  auto name_at = [this](const Cursor& c) -> std::string_view {
    return shards_[c.shard]->tensors()[shards_[c.shard]->by_name()[c.next]].name;
  };
  auto later = [&](const Cursor& a, const Cursor& b) {
    int cmp = name_at(a).compare(name_at(b));
    return cmp != 0 ? cmp > 0 : a.shard > b.shard;
  };
  std::vector<Cursor> heap;
  size_t total = 0;
  for (size_t si = 0; si < shards_.size(); ++si) {
    total += shards_[si]->tensors().size();
    if (!shards_[si]->by_name().empty()) heap.push_back({si, 0});
  }
  std::make_heap(heap.begin(), heap.end(), later);
  ref_storage_.reserve(total);
  names_.reserve(total);
  std::vector<const Shard*> holders;
  // The cursor that produced the last name stays out of the heap while its next name is still
  // the smallest: shards hold long runs of neighbouring names (whole layers), so most names
  // cost one comparison instead of a pop and a push.
  std::optional<Cursor> current;
  while (current || !heap.empty()) {
    if (!current) {
      std::pop_heap(heap.begin(), heap.end(), later);
      current = heap.back();
      heap.pop_back();
    }
    Cursor c = *current;
    const Shard* shard = shards_[c.shard].get();
    const TensorInfo& t = shard->tensors()[shard->by_name()[c.next]];
    if (++current->next >= shard->by_name().size()) {
      current.reset();
    } else if (!heap.empty() && later(*current, heap.front())) {
      heap.push_back(*current);
      std::push_heap(heap.begin(), heap.end(), later);
      current.reset();
    }
    if (t.duplicate) continue;  // reported by the shard itself
    if (!names_.empty() && names_.back() == t.name) {
      if (holders.empty()) holders.push_back(ref_storage_.back().shard);
      holders.push_back(shard);
      continue;
    }
    if (!holders.empty()) {
      cross_duplicates_.emplace_back(std::string(names_.back()), std::move(holders));
      holders.clear();
    }
    ref_storage_.push_back(TensorRef{shard, &t});
    names_.push_back(t.name);
  }
  if (!holders.empty())
    cross_duplicates_.emplace_back(std::string(names_.back()), std::move(holders));
  refs_.reserve(ref_storage_.size());
  for (const TensorRef& r : ref_storage_) refs_.push_back(&r);
  modules_.build(names_, refs_, threads);
}

const QuantGroup* Checkpoint::resolve_group(const Module& m) const {
  const QuantScheme& s = scheme_;
  if (s.method == QuantMethod::kNone || s.method == QuantMethod::kUnknown) return nullptr;
  if (m.ignored) return nullptr;
  // modelopt and vLLM leave vision towers unquantized whatever the config says; GPTQModel and
  // AutoAWQ quantize only the decoder blocks (GPTQModel models/base.py layers_node).
  bool decoder_only = s.method == QuantMethod::kModelOpt || s.method == QuantMethod::kGptq ||
                      s.method == QuantMethod::kAwq;
  if (decoder_only &&
      (m.path.find("visual") != std::string::npos || m.path.find("vision") != std::string::npos)) {
    return nullptr;
  }
  // bitsandbytes and MLX quantize a module only when its quant state / scales are saved: a float
  // weight without them is loaded as is (mlx_lm/utils.py load_model: f"{p}.scales" in weights)
  // or quantized on load by transformers (quantizers/quantizer_bnb_4bit.py).
  if (s.method == QuantMethod::kMlx || s.method == QuantMethod::kBitsandbytes) {
    const ModuleParam* w = m.weight();
    bool stored_float = w && w->ref->info->dtype && is_high_precision_float(*w->ref->info->dtype);
    if (stored_float && !m.param("scales") && !m.param("weight.absmax") && !m.param("SCB"))
      return nullptr;
  }
  const QuantGroup* g = s.group_for(m.path, m.linear || m.quantized);
  // compressed-tensors sparse-24-bitmask stores its targets compressed over their quantization.
  if (const QuantGroup* sparse = s.sparse_group_for(g, m.path, m.linear || m.quantized))
    g = sparse;
  if (!g || g->format == WeightFormat::kNone || g->format == WeightFormat::kUnknown) return nullptr;
  return g;
}

const Shard* Checkpoint::shard(const std::string& name) const {
  auto it = shard_by_name_.find(name);
  return it == shard_by_name_.end() ? nullptr : it->second;
}

const TensorRef* Checkpoint::find(std::string_view name) const {
  auto it = std::lower_bound(names_.begin(), names_.end(), name);
  if (it == names_.end() || *it != name) return nullptr;
  return refs_[static_cast<size_t>(it - names_.begin())];
}

const nlohmann::json* Checkpoint::config_value(const char* key) const {
  if (!config_) return nullptr;
  if (config_->contains(key)) return &(*config_)[key];
  for (const char* nested : {"text_config", "language_config", "llm_config"}) {
    if (config_->contains(nested) && (*config_)[nested].is_object() &&
        (*config_)[nested].contains(key)) {
      return &(*config_)[nested][key];
    }
  }
  return nullptr;
}

namespace {

// Bytes per dtype, summed in a slot per dtype and named once at the end: a map lookup with a
// fresh name string per tensor cost milliseconds on a 60k-tensor checkpoint.
class DtypeTally {
 public:
  void add(Dtype d, uint64_t bytes) {
    seen_[static_cast<size_t>(d)] = true;
    bytes_[static_cast<size_t>(d)] += bytes;
  }
  DtypeBytes result() const {
    DtypeBytes out;
    for (size_t d = 0; d < kDtypeCount; ++d) {
      if (!seen_[d]) continue;
      out.bytes[std::string(dtype_name(static_cast<Dtype>(d)))] = bytes_[d];
      out.total += bytes_[d];
    }
    return out;
  }

 private:
  std::array<bool, kDtypeCount> seen_{};
  std::array<uint64_t, kDtypeCount> bytes_{};
};

}  // namespace

DtypeBytes count_dtype_bytes(const Checkpoint& ck) {
  DtypeTally tally;
  for (const auto& shard : ck.shards()) {
    for (const TensorInfo& t : shard->tensors()) {
      if (t.duplicate || !t.dtype) continue;
      tally.add(*t.dtype, t.nbytes());
    }
  }
  return tally.result();
}

void prefetch_tensor_bytes(const std::vector<const TensorRef*>& refs, int threads) {
  std::map<const Shard*, std::vector<std::pair<uint64_t, uint64_t>>> by_shard;
  for (const TensorRef* ref : refs) {
    if (!ref->info->readable || ref->info->nbytes() == 0) continue;
    if (ref->shard->source().file_descriptor() >= 0) continue;  // a local file: nothing to fetch
    by_shard[ref->shard].emplace_back(ref->shard->data_start() + ref->info->begin,
                                      ref->info->nbytes());
  }
  std::vector<std::pair<const Shard*, std::vector<std::pair<uint64_t, uint64_t>>>> jobs(
      by_shard.begin(), by_shard.end());
  std::vector<std::exception_ptr> failures(jobs.size());
  // Latency-bound for a remote source, free for a local file: more workers than cores.
  parallel_for(jobs.size(), std::max(threads, 8), [&](size_t i) {
    try {
      jobs[i].first->source().prefetch(jobs[i].second);
    } catch (...) {
      failures[i] = std::current_exception();
    }
  });
  for (const auto& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
}

DtypeBytes count_target_dtype_bytes(const Checkpoint& ck) {
  DtypeTally tally;
  for (const Module& m : ck.modules().modules()) {
    if (!m.is_linear() || !m.group) continue;
    const ModuleParam* w = m.weight();
    if (!w->ref->info->dtype) continue;
    tally.add(*w->ref->info->dtype, w->ref->info->nbytes());
  }
  return tally.result();
}

}  // namespace ckd

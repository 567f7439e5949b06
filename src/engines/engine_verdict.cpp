#include "engines/engine_verdict.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>

#include <fmt/format.h>

#include "checkpoint/architecture.h"
#include "checkpoint/checkpoint.h"
#include "checkpoint/module_table.h"
#include "io/text_hash.h"
#include "report/text_style.h"
#include "safetensors/dtype.h"

namespace ckd {

namespace {

constexpr size_t kExamples = 3;

// A profile's message template with {key}, {count}, ... filled in; a template the data got
// wrong is printed as written rather than thrown.
std::string fill(const std::string& text, const std::map<std::string, std::string>& values) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '{') {
      size_t end = text.find('}', i);
      if (end != std::string::npos) {
        auto it = values.find(text.substr(i + 1, end - i - 1));
        if (it != values.end()) {
          out += it->second;
          i = end + 1;
          continue;
        }
      }
    }
    out += text[i++];
  }
  return out;
}

std::string examples(const std::vector<std::string>& names) {
  size_t shown = std::min(names.size(), kExamples);
  return fmt::format("{}{}", fmt::join(names.begin(), names.begin() + static_cast<long>(shown), ", "),
                     names.size() > shown ? fmt::format(", ... ({} in all)", names.size()) : "");
}

// A module path under an experts segment, without its expert index:
// "model.layers.3.mlp.experts.17.down_proj" -> head "model.layers.3.mlp.experts.", tail
// ".down_proj". `has_experts` without a head: an experts segment not followed by an index.
struct ExpertIndexSplit {
  bool has_experts = false;
  std::string_view head, tail;
  explicit operator bool() const { return !head.empty(); }
};

ExpertIndexSplit split_expert_index(std::string_view path) {
  ExpertIndexSplit out;
  size_t at = find_experts_segment(path);
  if (at == std::string_view::npos) return out;
  out.has_experts = true;
  size_t digits = at + 9, end = digits;
  while (end < path.size() && path[end] >= '0' && path[end] <= '9') ++end;
  if (end == digits || (end < path.size() && path[end] != '.')) return out;
  out.head = path.substr(0, digits);
  out.tail = path.substr(end);
  return out;
}

// The ignore entry the engine matches `module` with, or nullptr. Entries with wildcards,
// regexes or class names keep the checkpoint format's own semantics. Literal entries are
// indexed so that one module costs a few hash lookups per dotted segment, whatever the length
// of the list (the 62k-tensor bench has 31k modules and a thousand entries).
class EngineIgnore {
 public:
  EngineIgnore(const QuantScheme& scheme, IgnoreMatch how) : how_(how) {
    for (const NamePattern& p : scheme.ignore) {
      // A modelopt wildcard ("model.visual*") is matched as a glob by every engine that reads
      // modelopt (vLLM modelopt.py is_layer_excluded: fnmatch after exact and substring; SGLang
      // modelopt_quant.py is_layer_excluded: glob-style wildcards).
      if (p.regex || p.kind == NamePattern::Kind::kClass ||
          (p.kind == NamePattern::Kind::kGlob && !p.is_literal())) {
        patterned_.push_back(&p);
        continue;
      }
      const std::string& t = p.text;
      if (t.empty()) continue;
      if (reaches_expert_index(t)) expert_index_free_ = false;
      literal_.push_back(&p);
      by_text_.emplace(t, &p);
      if (t.find("experts") != std::string::npos) expert_entries_.push_back(&p);
      size_t first_dot = t.find('.'), last_dot = t.rfind('.');
      max_segments_ =
          std::max(max_segments_, 1 + static_cast<size_t>(std::count(t.begin(), t.end(), '.')));
      std::string last = t.substr(last_dot == std::string::npos ? 0 : last_dot + 1);
      mark(last_segment_sizes_, last.size());
      last_segments_.emplace(std::move(last), &p);
      if (first_dot == std::string::npos) {
        undotted_.push_back(&p);
      } else {
        by_head_[t.substr(0, last_dot + 1)].push_back(&p);
        mark(head_sizes_, last_dot + 1);
        by_last_segment_[t.substr(last_dot + 1)].push_back(&p);
      }
    }
  }

  const NamePattern* match(std::string_view module) const {
    for (const NamePattern* p : patterned_)
      if (p->matches(module, true)) return p;
    return literal_match(module);
  }

  // True when no entry is patterned and no literal entry can reach the digits of an expert
  // index (see reaches_expert_index): then every expert of a layer matches as its siblings do,
  // whatever the engine's matcher (exact, prefix, suffix, dot boundary, substring).
  bool expert_index_free() const { return expert_index_free_ && patterned_.empty(); }

 private:
  // Could `entry` occur in a module path overlapping the digits E of "<...>.experts.E<...>"?
  // Such an occurrence either starts inside E (the entry starts with a digit) or covers the dot
  // before E: the entry has a dot followed by a digit, and what precedes that dot in the entry
  // is a suffix of "<...>.experts". An entry that cannot overlap E sees the same characters
  // around it for every E (E's own characters are digits, never the dots the matchers test).
  static bool reaches_expert_index(std::string_view entry) {
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (digit(entry.front())) return true;
    constexpr std::string_view kExperts = ".experts";
    for (size_t j = entry.find('.'); j != std::string_view::npos; j = entry.find('.', j + 1)) {
      if (j + 1 >= entry.size() || !digit(entry[j + 1])) continue;
      std::string_view before = entry.substr(0, j);
      if (before.size() <= kExperts.size() ? kExperts.ends_with(before)
                                           : before.ends_with(kExperts))
        return true;
    }
    return false;
  }

  const NamePattern* literal_match(std::string_view module) const {
    switch (how_) {
      case IgnoreMatch::kExact: {
        // vLLM quant_utils.py is_layer_skipped: a FusedMoE prefix ("...mlp.experts") is
        // skipped when an entry naming experts contains it.
        size_t experts = module.find(".experts.");
        if (experts == std::string_view::npos) return find(module);
        std::string_view prefix = module.substr(0, experts + 8);
        for (const NamePattern* p : expert_entries_)
          if (p->text.find(prefix) != std::string::npos) return p;
        return nullptr;
      }
      case IgnoreMatch::kDotBoundary:
        return dot_boundary(module);
      case IgnoreMatch::kPrefix:
        return prefix(module);
      case IgnoreMatch::kPrefixOrSuffix:
        if (const NamePattern* p = prefix(module)) return p;
        return suffix(module);
      case IgnoreMatch::kSubstring:
        break;
    }
    for (const NamePattern* p : literal_)
      if (ignore_entry_matches(how_, p->text, module)) return p;
    return nullptr;
  }

  // Looked up by string_view (TextHash): probing a module's segments allocates nothing.
  template <class V>
  using TextMap = std::unordered_map<std::string, V, TextHash, std::equal_to<>>;

  // Sizes some key has: most probes are ruled out by their length, without hashing.
  static void mark(std::vector<bool>& sizes, size_t n) {
    if (sizes.size() <= n) sizes.resize(n + 1);
    sizes[n] = true;
  }
  static bool any_of_size(const std::vector<bool>& sizes, size_t n) {
    return n < sizes.size() && sizes[n];
  }

  const NamePattern* find(std::string_view text) const {
    auto it = by_text_.find(text);
    return it == by_text_.end() ? nullptr : it->second;
  }

  // SGLang _module_path_match: the entry is a run of whole segments of the module. Runs are
  // probed only where they end in a segment some entry ends in, and no longer than the longest
  // entry: linear in the name.
  const NamePattern* dot_boundary(std::string_view module) const {
    thread_local std::vector<size_t> starts;
    starts.assign(1, 0);
    for (size_t i = 0; i < module.size(); ++i)
      if (module[i] == '.') starts.push_back(i + 1);
    for (size_t e = 0; e < starts.size(); ++e) {
      size_t end = e + 1 < starts.size() ? starts[e + 1] - 1 : module.size();
      if (!any_of_size(last_segment_sizes_, end - starts[e])) continue;
      if (last_segments_.find(module.substr(starts[e], end - starts[e])) == last_segments_.end())
        continue;
      for (size_t s = e + 1 > max_segments_ ? e + 1 - max_segments_ : 0; s <= e; ++s)
        if (const NamePattern* p = find(module.substr(starts[s], end - starts[s]))) return p;
    }
    return nullptr;
  }

  // transformers re.match(entry, name): the entry is a prefix of the name. A dotted entry's
  // head (up to its last dot) is then a dotted prefix of the module.
  const NamePattern* prefix(std::string_view module) const {
    for (const NamePattern* p : undotted_)
      if (module.substr(0, p->text.size()) == p->text) return p;
    for (size_t dot = module.find('.'); dot != std::string_view::npos;
         dot = module.find('.', dot + 1)) {
      if (!any_of_size(head_sizes_, dot + 1)) continue;
      auto it = by_head_.find(module.substr(0, dot + 1));
      if (it == by_head_.end()) continue;
      for (const NamePattern* p : it->second)
        if (module.substr(0, p->text.size()) == p->text) return p;
    }
    return nullptr;
  }

  // name.endswith(entry): a dotted entry's last segment is then the module's last segment.
  const NamePattern* suffix(std::string_view module) const {
    auto ends = [&](const std::string& t) {
      return module.size() >= t.size() && module.substr(module.size() - t.size()) == t;
    };
    for (const NamePattern* p : undotted_)
      if (ends(p->text)) return p;
    size_t dot = module.rfind('.');
    auto it = by_last_segment_.find(dot == std::string_view::npos ? module : module.substr(dot + 1));
    if (it == by_last_segment_.end()) return nullptr;
    for (const NamePattern* p : it->second)
      if (ends(p->text)) return p;
    return nullptr;
  }

  IgnoreMatch how_;
  bool expert_index_free_ = true;
  size_t max_segments_ = 0;
  std::vector<bool> last_segment_sizes_, head_sizes_;
  std::vector<const NamePattern*> patterned_, literal_, expert_entries_, undotted_;
  TextMap<const NamePattern*> by_text_, last_segments_;
  TextMap<std::vector<const NamePattern*>> by_head_, by_last_segment_;
};

// EngineIgnore fed paths in module-table order. The experts of one layer are neighbours there
// and share their answer (where the list allows: EngineIgnore::expert_index_free): one lookup
// per layer and expert tensor instead of one per expert (the bench has 256 experts a layer).
// Holds views of the paths it was fed: they must outlive it.
class ExpertMemoIgnore {
 public:
  ExpertMemoIgnore(const QuantScheme& scheme, IgnoreMatch how) : ignore_(scheme, how) {}

  const NamePattern* match(std::string_view path, const ExpertIndexSplit& expert) {
    if (!expert || !ignore_.expert_index_free()) return ignore_.match(path);
    if (expert.head != head_) {
      head_ = expert.head;
      tails_.clear();
    }
    for (const auto& [tail, hit] : tails_)
      if (tail == expert.tail) return hit;
    const NamePattern* hit = ignore_.match(path);
    if (tails_.size() < kTails) tails_.emplace_back(expert.tail, hit);
    return hit;
  }

 private:
  static constexpr size_t kTails = 16;
  EngineIgnore ignore_;
  // The current layer's "<...>.experts." and the answer per tail (".down_proj", ...).
  std::string_view head_;
  std::vector<std::pair<std::string_view, const NamePattern*>> tails_;
};

struct Verdicts : EngineIgnoreReasons {
  void add(const std::string& verdict, std::string rule, std::string message) {
    (verdict == "fails" ? fails : misloads).push_back({std::move(rule), std::move(message)});
  }
};

// The ignore list as the engine reads it: modules it builds quantized that are stored in high
// precision, modules it keeps in high precision that are stored quantized, and fused groups whose
// shards it reads differently (vLLM / SGLang raise ValueError). Fed the linear modules one by
// one, so that several engines share one walk over the module table.
class IgnoreListReading {
 public:
  IgnoreListReading(const EngineProfile& profile, const QuantScheme& scheme, IgnoreMatch how)
      : profile_(profile), scheme_(scheme), how_(how), ignore_(scheme, how) {}

  // `dot`: the module path's last dot; `expert`: the path around its expert index, if any.
  void visit(const Module& m, size_t dot, const ExpertIndexSplit& expert) {
    const NamePattern* hit = ignore_.match(m.path, expert);
    if (!hit && !m.is_quantized()) {
      const QuantGroup* group = scheme_.group_for(m.path, true);
      if (group && group->format != WeightFormat::kNone) built_quantized_.emplace_back(m.path);
    }
    if (hit && m.is_quantized()) {
      if (read_high_precision_.empty()) read_entry_ = hit->text;
      read_high_precision_.emplace_back(m.path);
    }
    // Experts load as one FusedMoE module, not through the fused-shard mapping.
    if (dot == std::string::npos || expert.has_experts) return;
    std::string leaf(m.path.substr(dot + 1));
    for (const auto& [fused_name, shards] : profile_.fused) {
      if (std::find(shards.begin(), shards.end(), leaf) != shards.end())
        fused_[std::string(m.path.substr(0, dot + 1)) + fused_name].emplace_back(leaf, hit != nullptr);
    }
  }

  void finish(Verdicts& out) {
    out.kept_dense = read_high_precision_;
    std::vector<std::string> mixed;
    for (const auto& [module, shards] : fused_) {
      bool any = false, all = true;
      for (const auto& s : shards) any = any || s.second, all = all && s.second;
      if (any && !all) mixed.push_back(module);
    }
    if (!mixed.empty() && !profile_.fused_mismatch_error.empty()) {
      const auto& shards = fused_[mixed.front()];
      std::vector<std::string> skipped, kept;
      for (const auto& [leaf, s] : shards) (s ? skipped : kept).push_back(leaf);
      out.add("fails", "fused-shard-precision",
              fmt::format("{} ({} by {}: {} on the {} list, {} not; {})",
                          fill(profile_.fused_mismatch_error, {{"module", mixed.front()}}),
                          profile_.engine, ignore_match_name(how_), fmt::join(skipped, ", "),
                          scheme_.ignore_key, fmt::join(kept, ", "),
                          count_of(mixed.size(), "fused module")));
    }
    if (!built_quantized_.empty()) {
      out.add("misloads", "false-quantization",
              fmt::format("{} builds {} quantized that are stored in high precision without "
                          "scales: no {} entry matches them by {}: {}",
                          profile_.engine, count_of(built_quantized_.size(), "module"),
                          scheme_.ignore_key, ignore_match_name(how_),
                          examples(built_quantized_)));
    }
    if (!read_high_precision_.empty()) {
      out.add("misloads", "quantized-ignored-module",
              fmt::format("{} keeps {} in high precision that are stored quantized: {} entry "
                          "\"{}\" matches by {}: {}",
                          profile_.engine, count_of(read_high_precision_.size(), "module"),
                          scheme_.ignore_key, read_entry_, ignore_match_name(how_),
                          examples(read_high_precision_)));
    }
  }

 private:
  const EngineProfile& profile_;
  const QuantScheme& scheme_;
  IgnoreMatch how_;
  ExpertMemoIgnore ignore_;
  std::vector<std::string> built_quantized_, read_high_precision_;
  std::string read_entry_;
  // Fused module -> (shard, skipped) for the fused-group check.
  std::map<std::string, std::vector<std::pair<std::string, bool>>> fused_;
};

// Every linear module once, each reading fed in turn.
void read_ignore_lists(const Checkpoint& ck, std::vector<IgnoreListReading*> readings) {
  if (readings.empty()) return;
  for (const Module& m : ck.modules().modules()) {
    if (!m.is_linear()) continue;
    size_t dot = m.path.rfind('.');
    ExpertIndexSplit expert = split_expert_index(m.path);
    for (IgnoreListReading* r : readings) r->visit(m, dot, expert);
  }
}

// The order a loader meets the tensors in: shard files by name, each shard's keys sorted
// (safetensors safe_open(...).keys() sorts them; vLLM model_loader/weight_utils.py
// safetensors_weights_iterator and transformers read them so).
std::vector<size_t> load_order(const Checkpoint& ck) {
  const auto& refs = ck.tensor_refs();
  const size_t n = ck.tensor_names().size();
  auto shard_of = [&](size_t i) -> const Shard* { return refs[i] ? refs[i]->shard : nullptr; };
  // tensor_names() is sorted already: a stable bucketing by file name gives the order (linear,
  // where a sort of 60k names by (file, name) costs tens of milliseconds).
  std::map<std::string_view, size_t> rank_of_name;  // "" (no shard) first, like the files
  std::unordered_map<const Shard*, size_t> rank;
  for (size_t i = 0; i < n; ++i) {
    const Shard* s = shard_of(i);
    if (rank.emplace(s, 0).second)
      rank_of_name.emplace(s ? std::string_view(s->display_name()) : std::string_view(), 0);
  }
  size_t next = 0;
  for (auto& [name, r] : rank_of_name) r = next++;
  for (auto& [s, r] : rank)
    r = rank_of_name[s ? std::string_view(s->display_name()) : std::string_view()];
  std::vector<size_t> of(n), start(rank_of_name.size() + 1, 0);
  for (size_t i = 0; i < n; ++i) ++start[(of[i] = rank[shard_of(i)]) + 1];
  for (size_t r = 0; r + 1 < start.size(); ++r) start[r + 1] += start[r];
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[start[of[i]]++] = i;
  return order;
}

bool ends_with_any(std::string_view name, const std::vector<std::string>& suffixes) {
  return std::any_of(suffixes.begin(), suffixes.end(),
                     [&](const std::string& s) { return name.ends_with(s); });
}

// A shard of a fused (stacked) module outside the experts: vLLM's stacked_params_mapping branch
// skips a name params_dict lacks (`if name not in params_dict: continue`, models/qwen3_moe.py).
bool guarded_stacked(const EngineProfile& profile, std::string_view name) {
  if (name.find(".experts.") != std::string_view::npos) return false;
  std::string_view module = split_tensor_name(name).first;
  size_t dot = module.rfind('.');
  std::string_view leaf = dot == std::string_view::npos ? module : module.substr(dot + 1);
  for (const auto& [fused, shards] : profile.fused)
    if (std::find(shards.begin(), shards.end(), leaf) != shards.end()) return true;
  return false;
}

// The checkpoint name as the class's hf_to_vllm_mapper (or its like) rewrites it: the first
// matching prefix.
std::string mapped_name(const EngineClassNaming& naming, std::string_view name) {
  for (const auto& [from, to] : naming.mapper)
    if (name.starts_with(from)) return to + std::string(name.substr(from.size()));
  return std::string(name);
}

// Whether load_weights passes `name` by without the raising lookup: a suffix it drops, a
// stacked shard it checks against params_dict first, a plain name the class guards.
bool loader_skips(const EngineProfile& profile, const EngineClassNaming& naming,
                  const std::vector<std::string>& profile_skip_suffixes, bool guards_stacked,
                  std::string_view name) {
  const std::vector<std::string>& skip =
      naming.skip_suffixes ? *naming.skip_suffixes : profile_skip_suffixes;
  return ends_with_any(name, skip) || (guards_stacked && guarded_stacked(profile, name)) ||
         (naming.plain_guarded && name.find(".experts.") == std::string_view::npos);
}

std::string dtype_and_shape(const TensorInfo& info) {
  return fmt::format("{} [{}]", info.dtype ? std::string(dtype_name(*info.dtype)) : "?",
                     fmt::join(info.shape, ", "));
}

// Integer containers that hold several quantized values per element: the stored shape cannot
// be the dense parameter's.
bool packed_container(const TensorInfo& info) {
  if (!info.dtype) return false;
  switch (*info.dtype) {
    case Dtype::kU8:
    case Dtype::kU16:
    case Dtype::kU32:
    case Dtype::kI32:
      return true;
    default:
      return false;
  }
}

// The error an engine's load_weights raises on a checkpoint name no parameter takes, or ""
// when it skips the name (a suffix it drops, a guarded stacked shard, a guarded plain name).
std::string unknown_name_error(const EngineProfile& profile, const ArchitectureDiff& arch,
                               std::string_view name) {
  const EngineDenseLoad& dense = profile.dense;
  const EngineClassNaming& naming = profile.naming(arch.class_name);
  std::string mapped = mapped_name(naming, name);
  bool inside = naming.model_prefix.empty() ||
                mapped.compare(0, naming.model_prefix.size(), naming.model_prefix) == 0;
  if (!inside) {
    if (dense.outside_error.empty()) return "";
    return fill(
        dense.outside_error,
        {{"name", mapped}, {"class", arch.class_name.empty() ? "the model" : arch.class_name}});
  }
  if (dense.extra_error.empty() ||
      loader_skips(profile, naming, dense.extra_skip_suffixes, dense.extra_guarded_stacked, name))
    return "";
  std::string key = profile.stacked_name(mapped.substr(naming.model_prefix.size()));
  return fmt::format("{} (checkpoint tensor {})", fill(dense.extra_error, {{"key", key}}), name);
}

// A quantized module's tensors loaded into a module the engine built in high precision (the
// whole model when it sees no quantization, or the modules its ignore list keeps): the first
// tensor in load order that raises, else the low-precision values it reads with no scale.
// Keys under a layout change are the layout's reason, not this one.
bool check_dense_load(const EngineProfile& profile, const Checkpoint& ck,
                      const ArchitectureDiff& arch,
                      const std::function<bool(const Module&)>& built_dense,
                      const std::string& rule, const std::string& context, Verdicts& out) {
  const EngineDenseLoad& dense = profile.dense;
  if (dense.packed_error.empty()) return false;
  std::string first_error, first_packed, unscaled;
  size_t packed = 0;
  bool packed_first = false;
  for (size_t i : load_order(ck)) {
    std::string_view name = ck.tensor_names()[i];
    const TensorRef* ref = ck.tensor_refs()[i];
    if (!ref || !ref->info) continue;
    bool moved = false;
    for (const LayoutChange& c : arch.layout)
      moved = moved || name.substr(0, c.from.size()) == c.from;
    if (moved) continue;
    auto [module_path, param] = split_tensor_name(name);
    const Module* m = ck.modules().find(module_path);
    if (!m || !m->is_quantized() || !built_dense(*m)) continue;
    TensorRole role = role_of_param(param, module_path);
    if (role == TensorRole::kWeight || role == TensorRole::kPackedWeight) {
      if (packed_container(*ref->info) && param == "weight") {
        if (packed++ == 0) first_packed = std::string(name);
        if (first_error.empty()) packed_first = true;
        if (first_error.empty())
          first_error = fill(dense.packed_error, {{"tensor", std::string(name)},
                                                  {"stored", dtype_and_shape(*ref->info)}});
        continue;
      }
      if (param == "weight" && unscaled.empty() && ref->info->dtype &&
          !is_high_precision_float(*ref->info->dtype))
        unscaled = fmt::format("{} ({})", name, dtype_and_shape(*ref->info));
      if (param == "weight") continue;
    }
    if (role == TensorRole::kBias && param == "bias") continue;
    if (!first_error.empty()) continue;
    first_error = unknown_name_error(profile, arch, name);
  }
  if (!first_error.empty()) {
    std::string also =
        packed_first && packed > 1
            ? fmt::format("; {} packed weights in all, e.g. {}", packed, first_packed)
            : "";
    out.add("fails", rule, fmt::format("{} ({}{})", first_error, context, also));
    return true;
  }
  if (!unscaled.empty()) {
    out.add("misloads", rule, fmt::format("{}: {} ({})", dense.unscaled_why, unscaled, context));
    return true;
  }
  return false;
}

// Tensors under names the engine's quantized modules do not define, which no loader renames
// (older AMD Quark exports' weight_quantizer.scale / input_quantizer.scale: vLLM and SGLang
// build weight_scale / input_scale): the first lookup that raises, else the scales never read.
void check_unread_names(const EngineProfile& profile, const Checkpoint& ck,
                        const ArchitectureDiff& arch, const std::string& method, Verdicts& out) {
  auto it = profile.unread_names.find(method);
  if (it == profile.unread_names.end()) return;
  const EngineUnreadNames& unread = it->second;
  std::string first_error, example;
  size_t count = 0;
  for (size_t i : load_order(ck)) {
    std::string_view name = ck.tensor_names()[i];
    std::string_view param = split_tensor_name(name).second;
    if (std::find(unread.params.begin(), unread.params.end(), param) == unread.params.end())
      continue;
    if (count++ == 0) example = std::string(name);
    if (first_error.empty()) first_error = unknown_name_error(profile, arch, name);
  }
  if (!count) return;
  std::string what = fmt::format("{} under names {} does not read, e.g. {}; {}",
                                 count_of(count, "tensor"), profile.engine, example, unread.why);
  if (!first_error.empty()) {
    out.add("fails", "unread-scale-names", fmt::format("{} ({})", first_error, what));
  } else {
    out.add(
        "misloads", "unread-scale-names",
        fmt::format("load_weights skips them and the scales keep their initial values ({})", what));
  }
}

// How the engine takes the checkpoint's quantization declaration: "" when it builds the
// declared method, else why it builds the model unquantized (dense) or the error it raises.
struct DeclarationOutcome {
  bool dense = false;
  std::string error;
  std::string why;
};

// A quantization_config in a line: its scalar keys, and a count of per-module entries (mlx-lm
// writes one per overridden module, thousands in a mixed-precision conversion).
std::string config_summary(const nlohmann::json& qc) {
  nlohmann::json scalars = nlohmann::json::object();
  size_t nested = 0;
  for (const auto& [key, value] : qc.items()) {
    if (value.is_object() || value.is_array()) {
      ++nested;
    } else {
      scalars[key] = value;
    }
  }
  std::string out = scalars.dump();
  if (nested)
    out += fmt::format(" and {}", count_of(nested, "per-module entry", "per-module entries"));
  return out;
}

DeclarationOutcome read_declaration(const EngineProfile& profile, const Checkpoint& ck) {
  DeclarationOutcome d;
  const QuantScheme& scheme = ck.scheme();
  if (scheme.method == QuantMethod::kNone || scheme.source_file.empty()) return d;
  const EngineDeclaration& decl = profile.declaration;
  auto reads = [&](const char* file) {
    return std::find(decl.files.begin(), decl.files.end(), file) != decl.files.end();
  };
  const nlohmann::json* config = ck.config();
  const nlohmann::json* qc = nullptr;
  if (config && config->is_object()) {
    for (const char* key : {"quantization_config", "compression_config"})
      if (!qc && config->contains(key) && (*config)[key].is_object()) qc = &(*config)[key];
    if (!qc && config->contains("text_config") && (*config)["text_config"].is_object() &&
        (*config)["text_config"].contains("quantization_config") &&
        (*config)["text_config"]["quantization_config"].is_object())
      qc = &(*config)["text_config"]["quantization_config"];
  }
  if (!reads(scheme.source_file.c_str())) {
    // modelopt 0.31 and later also copy the declaration into config.json: the engine reads
    // that one (and its method check follows).
    if (qc && qc->contains("quant_method") && reads("config.json")) return d;
    d.dense = true;
    d.why = fmt::format("{} reads no {} and builds the model unquantized", profile.engine,
                        scheme.source_file);
    return d;
  }
  if (scheme.source_file != "config.json") return d;
  if (!qc) {
    d.dense = true;
    d.why = fmt::format(
        "config.json declares {} without a quantization_config: {} builds the "
        "model unquantized",
        quant_method_name(scheme.method), profile.engine);
  } else if (!qc->contains("quant_method")) {
    if (decl.no_quant_method == "dense") {
      d.dense = true;
      d.why = fmt::format(
          "config.json's quantization_config has no quant_method ({} writes {}): "
          "{} takes the model as unquantized",
          quant_method_name(scheme.method), config_summary(*qc), profile.engine);
    } else {
      d.error = fmt::format("{} (config.json's quantization_config has no quant_method: {})",
                            decl.no_quant_method, config_summary(*qc));
    }
  }
  return d;
}

// Keys under a prefix the class does not expect: the name the engine looks up, and what that
// does (vLLM: KeyError in load_weights; transformers: unexpected keys, random weights).
void check_layout(const EngineProfile& profile, const Checkpoint& ck,
                  const ArchitectureDiff& arch, Verdicts& out) {
  if (!arch.modeled() || arch.layout.empty()) return;
  const LayoutChange& change = arch.layout.front();
  std::string example = change.example;
  const EngineClassNaming& naming = profile.naming(arch.class_name);
  if (profile.layout_guarded_stacked || !profile.layout_skip_suffixes.empty()) {
    // The first key in load order that reaches the raising lookup: names with a skipped suffix
    // and stacked shards (checked against params_dict first) pass quietly, and plain names too
    // where the class guards them.
    for (size_t i : load_order(ck)) {
      std::string_view name = ck.tensor_names()[i];
      if (!name.starts_with(change.from) ||
          loader_skips(profile, naming, profile.layout_skip_suffixes,
                       profile.layout_guarded_stacked, name))
        continue;
      example = std::string(name);
      break;
    }
  } else {
    // An expert weight when there is one: the expert mapping looks it up without a guard.
    for (std::string_view name : ck.tensor_names()) {
      if (name.starts_with(change.from) && name.find(".experts.") != std::string_view::npos &&
          name.ends_with(".weight")) {
        example = std::string(name);
        break;
      }
    }
  }
  std::string name = mapped_name(naming, example);
  size_t count = 0;
  for (const LayoutChange& c : arch.layout) count += c.count;
  std::map<std::string, std::string> values = {{"count", std::to_string(count)},
                                               {"from", change.from},
                                               {"to", change.to},
                                               {"class", arch.class_name}};
  std::string error;
  if (!naming.model_prefix.empty() &&
      name.compare(0, naming.model_prefix.size(), naming.model_prefix) != 0 &&
      !profile.outside_model_error.empty()) {
    values["segment"] = name.substr(0, name.find('.'));
    error = fill(profile.outside_model_error, values);
  } else {
    if (!naming.model_prefix.empty()) name = name.substr(naming.model_prefix.size());
    values["key"] = profile.stacked_name(name);
    error = fill(profile.layout_error, values);
  }
  out.add(profile.layout_verdict, "key-layout-mismatch",
          fmt::format("{} (checkpoint tensor {}: keys under \"{}\", {} expects \"{}\")", error,
                      example, change.from, arch.class_name, change.to));
}

// The method's own ignore-list reading, when the engine has one for it (`how`).
const IgnoreMatch* own_ignore_match(const EngineProfile& profile, const QuantScheme& scheme) {
  bool quantized = scheme.method != QuantMethod::kNone && scheme.quantizes();
  auto how = profile.ignore_match.find(quant_method_name(scheme.method));
  return quantized && how != profile.ignore_match.end() ? &how->second : nullptr;
}

}  // namespace

std::vector<std::string> engine_ignore_entries(const QuantScheme& scheme, IgnoreMatch how,
                                               const std::vector<std::string>& modules) {
  ExpertMemoIgnore ignore(scheme, how);
  std::vector<std::string> out;
  out.reserve(modules.size());
  for (const std::string& m : modules) {
    const NamePattern* p = ignore.match(m, split_expert_index(m));
    out.push_back(p ? p->text : "");
  }
  return out;
}

std::string engine_ignore_entry(const QuantScheme& scheme, IgnoreMatch how,
                                std::string_view module) {
  return engine_ignore_entries(scheme, how, {std::string(module)}).front();
}

std::vector<EngineIgnoreReasons> engine_ignore_reasons(
    const std::vector<const EngineProfile*>& profiles, const Checkpoint& ck) {
  std::vector<std::unique_ptr<IgnoreListReading>> readings(profiles.size());
  std::vector<IgnoreListReading*> active;
  for (size_t i = 0; i < profiles.size(); ++i) {
    if (const IgnoreMatch* how = own_ignore_match(*profiles[i], ck.scheme())) {
      readings[i] = std::make_unique<IgnoreListReading>(*profiles[i], ck.scheme(), *how);
      active.push_back(readings[i].get());
    }
  }
  read_ignore_lists(ck, active);
  std::vector<EngineIgnoreReasons> out(profiles.size());
  for (size_t i = 0; i < profiles.size(); ++i) {
    if (!readings[i]) continue;
    Verdicts reasons;
    readings[i]->finish(reasons);
    out[i] = std::move(static_cast<EngineIgnoreReasons&>(reasons));
  }
  return out;
}

EngineVerdict engine_verdict(const EngineProfile& profile, const Checkpoint& ck,
                             const ArchitectureDiff& arch, const std::vector<Finding>& findings,
                             const EngineIgnoreReasons* ignore_reasons) {
  EngineVerdict v;
  v.engine = profile.engine;
  v.version = profile.version;
  Verdicts reasons;
  check_layout(profile, ck, arch, reasons);
  const QuantScheme& scheme = ck.scheme();
  bool quantized = scheme.method != QuantMethod::kNone && scheme.quantizes();
  std::string method = quant_method_name(scheme.method);
  DeclarationOutcome declaration = read_declaration(profile, ck);
  if (!declaration.error.empty()) {
    reasons.add("fails", "quant-declaration", declaration.error);
  } else if (!declaration.dense && scheme.method != QuantMethod::kNone &&
             scheme.method != QuantMethod::kUnknown &&
             std::find(profile.methods.begin(), profile.methods.end(), method) ==
                 profile.methods.end()) {
    if (profile.declaration.unknown_method == "dense") {
      declaration.dense = true;
      const std::string& note = profile.declaration.unknown_method_note;
      declaration.why = note.empty()
                            ? fmt::format("{} has no {} loader and builds the model unquantized",
                                          profile.engine, method)
                            : fmt::format(
                                  "{} has no {} loader: it logs \"{}\" and builds the model "
                                  "unquantized",
                                  profile.engine, method, fill(note, {{"method", method}}));
    } else {
      reasons.add("fails", "unsupported-quant-method",
                  fmt::format("{} ({} declares {}; {} does not load it)",
                              fill(profile.unsupported_method_error, {{"method", method}}),
                              scheme.source_file, method, profile.engine));
    }
  }
  // The whole model built unquantized: what its quantized tensors do to the dense parameters.
  bool whole_model_dense = declaration.dense;
  if (whole_model_dense) {
    if (!check_dense_load(
            profile, ck, arch, [](const Module&) { return true; }, "quant-declaration",
            declaration.why, reasons))
      reasons.add("misloads", "quant-declaration", declaration.why);
  }
  const bool own_ignore = !whole_model_dense && own_ignore_match(profile, scheme) != nullptr;
  std::vector<std::string> kept_dense;
  EngineIgnoreReasons computed;
  if (own_ignore) {
    if (!ignore_reasons)
      ignore_reasons = &(computed = engine_ignore_reasons({&profile}, ck).front());
    reasons.fails.insert(reasons.fails.end(), ignore_reasons->fails.begin(),
                         ignore_reasons->fails.end());
    reasons.misloads.insert(reasons.misloads.end(), ignore_reasons->misloads.begin(),
                            ignore_reasons->misloads.end());
    kept_dense = ignore_reasons->kept_dense;
  }
  if (quantized && !whole_model_dense && declaration.error.empty())
    check_unread_names(profile, ck, arch, method, reasons);
  // Modules kept in high precision though stored quantized (the engine's reading, and the
  // scan's, which also covers lm_head and embeddings): what loading their tensors does.
  bool dense_kept_explained = false;
  if (!whole_model_dense) {
    for (const Finding& f : findings) {
      if (f.name != "quantized-ignored-module" || f.tensor.empty()) continue;
      std::string_view path = split_tensor_name(f.tensor).first;
      // Where the profile reads the ignore list itself, its reading decides for the linear
      // modules; the scan's adds lm_head and the embeddings, which it does not walk.
      const Module* m = ck.modules().find(path);
      if (own_ignore && m && m->is_linear()) continue;
      kept_dense.emplace_back(path);
    }
    std::sort(kept_dense.begin(), kept_dense.end());
    kept_dense.erase(std::unique(kept_dense.begin(), kept_dense.end()), kept_dense.end());
    if (!kept_dense.empty()) {
      Verdicts dense;
      dense_kept_explained = check_dense_load(
          profile, ck, arch,
          [&](const Module& m) {
            return std::binary_search(kept_dense.begin(), kept_dense.end(), m.path);
          },
          "quantized-ignored-module",
          fmt::format("{} {} in high precision: the ignore list names {}", profile.engine,
                      kept_dense.size() == 1 ? "builds it" : "builds them", examples(kept_dense)),
          dense);
      if (dense_kept_explained) {
        // The load's own outcome replaces the generic "read as high precision" line.
        auto drop = [](std::vector<EngineReason>& list) {
          list.erase(std::remove_if(list.begin(), list.end(),
                                    [](const EngineReason& r) {
                                      return r.rule == "quantized-ignored-module";
                                    }),
                     list.end());
        };
        drop(reasons.misloads);
        for (auto& r : dense.fails) reasons.fails.push_back(std::move(r));
        for (auto& r : dense.misloads) reasons.misloads.push_back(std::move(r));
      }
    }
  }
  for (const EngineRuleEffect& effect : profile.findings) {
    if (own_ignore && std::find(profile.ignore_list_rules.begin(), profile.ignore_list_rules.end(),
                                effect.rule) != profile.ignore_list_rules.end())
      continue;
    if (dense_kept_explained && effect.rule == "quantized-ignored-module") continue;
    // Built unquantized, the model has no quantization for these findings to break.
    if (whole_model_dense &&
        std::find(profile.quantized_build_rules.begin(), profile.quantized_build_rules.end(),
                  effect.rule) != profile.quantized_build_rules.end())
      continue;
    const Finding* first = nullptr;
    uint64_t count = 0;
    for (const Finding& f : findings) {
      if (f.name != effect.rule) continue;
      if (!first && !f.omitted) first = &f;
      count += f.count();
    }
    if (!count) continue;
    std::string where = first && !first->tensor.empty() ? printable(first->tensor) + ": " : "";
    std::string message = fmt::format(
        "{}: {}{}{}", effect.why, where, first ? printable(first->message) : "",
        count > 1 ? fmt::format(" ({} findings)", count) : "");
    reasons.add(!quantized && !effect.unquantized_verdict.empty() ? effect.unquantized_verdict
                                                                   : effect.verdict,
                effect.rule, std::move(message));
  }
  v.verdict = !reasons.fails.empty() ? "fails" : !reasons.misloads.empty() ? "misloads" : "loads";
  v.reasons = std::move(reasons.fails);
  v.reasons.insert(v.reasons.end(), reasons.misloads.begin(), reasons.misloads.end());
  return v;
}

}  // namespace ckd

#include "engines/engine_verdict.h"

#include <algorithm>
#include <map>
#include <memory>
#include <unordered_map>

#include <fmt/format.h>

#include "checkpoint/architecture.h"
#include "checkpoint/checkpoint.h"
#include "report/text_style.h"

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

 private:
  // Looked up by string_view: probing a module's segments allocates nothing.
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
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
  size_t max_segments_ = 0;
  std::vector<bool> last_segment_sizes_, head_sizes_;
  std::vector<const NamePattern*> patterned_, literal_, expert_entries_, undotted_;
  TextMap<const NamePattern*> by_text_, last_segments_;
  TextMap<std::vector<const NamePattern*>> by_head_, by_last_segment_;
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

  // `dot`: the module path's last dot; `expert`: the path has an experts segment.
  void visit(const Module& m, size_t dot, bool expert) {
    const NamePattern* hit = ignore_.match(m.path);
    if (!hit && !m.is_quantized()) {
      const QuantGroup* group = scheme_.group_for(m.path, true);
      if (group && group->format != WeightFormat::kNone) built_quantized_.push_back(m.path);
    }
    if (hit && m.is_quantized()) {
      if (read_high_precision_.empty()) read_entry_ = hit->text;
      read_high_precision_.push_back(m.path);
    }
    // Experts load as one FusedMoE module, not through the fused-shard mapping.
    if (dot == std::string::npos || expert) return;
    std::string leaf = m.path.substr(dot + 1);
    for (const auto& [fused_name, shards] : profile_.fused) {
      if (std::find(shards.begin(), shards.end(), leaf) != shards.end())
        fused_[m.path.substr(0, dot + 1) + fused_name].emplace_back(leaf, hit != nullptr);
    }
  }

  void finish(Verdicts& out) {
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
  EngineIgnore ignore_;
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
    bool expert = m.path.find(".experts.") != std::string::npos;
    for (IgnoreListReading* r : readings) r->visit(m, dot, expert);
  }
}

// Keys under a prefix the class does not expect: the name the engine looks up, and what that
// does (vLLM: KeyError in load_weights; transformers: unexpected keys, random weights).
void check_layout(const EngineProfile& profile, const Checkpoint& ck,
                  const ArchitectureDiff& arch, Verdicts& out) {
  if (!arch.modeled() || arch.layout.empty()) return;
  const LayoutChange& change = arch.layout.front();
  // An expert weight when there is one: the expert mapping looks it up without a guard.
  std::string example = change.example;
  for (std::string_view name : ck.tensor_names()) {
    if (name.substr(0, change.from.size()) == change.from &&
        name.find(".experts.") != std::string_view::npos && name.size() > 7 &&
        name.substr(name.size() - 7) == ".weight") {
      example = std::string(name);
      break;
    }
  }
  const EngineClassNaming& naming = profile.naming(arch.class_name);
  std::string name = example;
  for (const auto& [from, to] : naming.mapper) {
    if (name.compare(0, from.size(), from) == 0) {
      name = to + name.substr(from.size());
      break;
    }
  }
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

std::string engine_ignore_entry(const QuantScheme& scheme, IgnoreMatch how,
                                std::string_view module) {
  const NamePattern* p = EngineIgnore(scheme, how).match(module);
  return p ? p->text : "";
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
  if (scheme.method != QuantMethod::kNone && scheme.method != QuantMethod::kUnknown &&
      std::find(profile.methods.begin(), profile.methods.end(), method) == profile.methods.end()) {
    reasons.add("fails", "unsupported-quant-method",
                fmt::format("{} ({} declares {}; {} does not load it)",
                            fill(profile.unsupported_method_error, {{"method", method}}),
                            scheme.source_file, method, profile.engine));
  }
  const bool own_ignore = own_ignore_match(profile, scheme) != nullptr;
  EngineIgnoreReasons computed;
  if (!ignore_reasons) ignore_reasons = &(computed = engine_ignore_reasons({&profile}, ck).front());
  reasons.fails.insert(reasons.fails.end(), ignore_reasons->fails.begin(),
                       ignore_reasons->fails.end());
  reasons.misloads.insert(reasons.misloads.end(), ignore_reasons->misloads.begin(),
                          ignore_reasons->misloads.end());
  for (const EngineRuleEffect& effect : profile.findings) {
    if (own_ignore && std::find(profile.ignore_list_rules.begin(), profile.ignore_list_rules.end(),
                                effect.rule) != profile.ignore_list_rules.end())
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

#include "engines/engine_profile.h"

#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <re2/re2.h>

#include "rules/engine.h"

namespace ckd {

const std::vector<std::pair<std::string_view, std::string_view>>& embedded_engine_files();

namespace {

IgnoreMatch parse_match(const std::string& s, const std::string& origin) {
  if (s == "exact") return IgnoreMatch::kExact;
  if (s == "substring") return IgnoreMatch::kSubstring;
  if (s == "dot-boundary") return IgnoreMatch::kDotBoundary;
  if (s == "prefix") return IgnoreMatch::kPrefix;
  if (s == "prefix-or-suffix") return IgnoreMatch::kPrefixOrSuffix;
  throw std::runtime_error(fmt::format("{}: unknown ignore_match \"{}\"", origin, s));
}

void check_verdict(const std::string& v, const std::string& origin) {
  if (v != "fails" && v != "misloads")
    throw std::runtime_error(fmt::format("{}: verdict \"{}\" is not fails or misloads", origin, v));
}

}  // namespace

bool ignore_entry_matches(IgnoreMatch how, std::string_view entry, std::string_view module) {
  if (entry.empty()) return false;
  auto starts = [&](std::string_view p) { return module.substr(0, p.size()) == p; };
  switch (how) {
    case IgnoreMatch::kExact:
      return module == entry;
    case IgnoreMatch::kSubstring:
      return module.find(entry) != std::string_view::npos;
    case IgnoreMatch::kDotBoundary: {
      // sglang/srt/layers/quantization/utils.py _module_path_match
      if (module == entry) return true;
      if (starts(entry) && module.size() > entry.size() && module[entry.size()] == '.') return true;
      for (size_t at = module.find(entry); at != std::string_view::npos;
           at = module.find(entry, at + 1)) {
        bool left = at == 0 || module[at - 1] == '.';
        size_t end = at + entry.size();
        bool right = end == module.size() || module[end] == '.';
        if (left && right) return true;
      }
      return false;
    }
    case IgnoreMatch::kPrefix:
      return starts(entry);
    case IgnoreMatch::kPrefixOrSuffix:
      // transformers quantizers_utils.py should_convert_module: re.match(f"{key}\\.", name)
      // or re.match(key, name) (a prefix) or name.endswith(key).
      return starts(entry) || (module.size() >= entry.size() &&
                               module.substr(module.size() - entry.size()) == entry);
  }
  return false;
}

const char* ignore_match_name(IgnoreMatch how) {
  switch (how) {
    case IgnoreMatch::kExact: return "exact match";
    case IgnoreMatch::kSubstring: return "substring";
    case IgnoreMatch::kDotBoundary: return "dot-boundary match";
    case IgnoreMatch::kPrefix: return "prefix match";
    case IgnoreMatch::kPrefixOrSuffix: return "prefix or suffix match";
  }
  return "";
}

const EngineClassNaming& EngineProfile::naming(const std::string& class_name) const {
  auto it = classes.find(class_name);
  if (it != classes.end()) return it->second;
  static const EngineClassNaming none;
  it = classes.find("default");
  return it != classes.end() ? it->second : none;
}

std::string EngineProfile::stacked_name(std::string name) const {
  for (const auto& [regex, replacement] : renames) {
    if (RE2::Replace(&name, *regex, replacement)) break;
  }
  return name;
}

EngineProfile parse_engine_profile(std::string_view text, const std::string& origin) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: {}", origin, e.what()));
  }
  EngineProfile p;
  try {
    p.engine = j.at("engine").get<std::string>();
    p.version = j.at("version").get<std::string>();
    p.sources = j.at("sources").get<std::vector<std::string>>();
    p.methods = j.at("methods").get<std::vector<std::string>>();
    p.unsupported_method_error = j.at("unsupported_method_error").get<std::string>();
    for (const auto& [method, how] : j.at("ignore_match").items())
      p.ignore_match[method] = parse_match(how.get<std::string>(), origin);
    for (const auto& [fused, shards] : j.at("fused").items())
      p.fused[fused] = shards.get<std::vector<std::string>>();
    p.fused_mismatch_error = j.at("fused_mismatch_error").get<std::string>();
    for (const auto& r : j.at("renames")) {
      auto regex = std::make_shared<re2::RE2>(r.at(0).get<std::string>());
      if (!regex->ok())
        throw std::runtime_error(fmt::format("{}: bad rename regex: {}", origin, regex->error()));
      p.renames.emplace_back(regex, r.at(1).get<std::string>());
    }
    for (const auto& [name, c] : j.at("classes").items()) {
      EngineClassNaming n;
      for (const auto& m : c.at("mapper"))
        n.mapper.emplace_back(m.at(0).get<std::string>(), m.at(1).get<std::string>());
      n.model_prefix = c.at("model_prefix").get<std::string>();
      n.plain_guarded = c.value("plain_guarded", false);
      if (c.contains("skip_suffixes"))
        n.skip_suffixes = c.at("skip_suffixes").get<std::vector<std::string>>();
      p.classes[name] = std::move(n);
    }
    const auto& layout = j.at("layout");
    p.layout_verdict = layout.at("verdict").get<std::string>();
    check_verdict(p.layout_verdict, origin);
    p.layout_error = layout.at("error").get<std::string>();
    p.outside_model_error = layout.value("outside_model_error", std::string());
    p.layout_skip_suffixes = layout.value("skip_suffixes", std::vector<std::string>());
    p.layout_guarded_stacked = layout.value("guarded_stacked", false);
    if (j.contains("declaration")) {
      const auto& d = j.at("declaration");
      p.declaration.files = d.at("files").get<std::vector<std::string>>();
      p.declaration.no_quant_method = d.at("no_quant_method").get<std::string>();
      p.declaration.unknown_method = d.at("unknown_method").get<std::string>();
      if (p.declaration.unknown_method != "error" && p.declaration.unknown_method != "dense")
        throw std::runtime_error(
            fmt::format("{}: declaration.unknown_method \"{}\" is not error or dense", origin,
                        p.declaration.unknown_method));
      p.declaration.unknown_method_note = d.value("unknown_method_note", std::string());
    } else {
      p.declaration.files = {"config.json", "hf_quant_config.json"};
    }
    if (j.contains("unread_names")) {
      for (const auto& [method, u] : j.at("unread_names").items()) {
        EngineUnreadNames n;
        n.params = u.at("params").get<std::vector<std::string>>();
        n.why = u.at("why").get<std::string>();
        p.unread_names[method] = std::move(n);
      }
    }
    if (j.contains("dense_load")) {
      const auto& d = j.at("dense_load");
      p.dense.packed_error = d.at("packed_error").get<std::string>();
      p.dense.extra_error = d.value("extra_error", std::string());
      p.dense.extra_skip_suffixes = d.value("extra_skip_suffixes", std::vector<std::string>());
      p.dense.extra_guarded_stacked = d.value("extra_guarded_stacked", false);
      p.dense.outside_error = d.value("outside_error", std::string());
      p.dense.unscaled_why = d.at("unscaled_why").get<std::string>();
    }
    for (const auto& f : j.at("findings")) {
      EngineRuleEffect e;
      e.rule = f.at("rule").get<std::string>();
      e.verdict = f.at("verdict").get<std::string>();
      check_verdict(e.verdict, origin);
      e.unquantized_verdict = f.value("unquantized_verdict", std::string());
      if (!e.unquantized_verdict.empty()) check_verdict(e.unquantized_verdict, origin);
      e.why = f.at("why").get<std::string>();
      p.findings.push_back(std::move(e));
    }
    p.ignore_list_rules = j.value("ignore_list_rules", std::vector<std::string>());
    p.quantized_build_rules = j.value("quantized_build_rules", std::vector<std::string>());
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: {}", origin, e.what()));
  }
  return p;
}

const std::vector<EngineProfile>& builtin_engine_profiles() {
  static const std::vector<EngineProfile> profiles = [] {
    std::vector<EngineProfile> out;
    for (const auto& [name, text] : embedded_engine_files())
      out.push_back(parse_engine_profile(text, "rules/engines/" + std::string(name)));
    return out;
  }();
  return profiles;
}

std::vector<std::string> engine_names() {
  std::vector<std::string> out;
  for (const EngineProfile& p : builtin_engine_profiles()) out.push_back(p.engine);
  return out;
}

std::vector<const EngineProfile*> select_engines(const std::vector<std::string>& names) {
  std::vector<const EngineProfile*> out;
  for (const std::string& n : names) {
    const EngineProfile* found = nullptr;
    for (const EngineProfile& p : builtin_engine_profiles())
      if (p.engine == n) found = &p;
    if (!found) {
      std::string hint = closest_name(n, engine_names());
      throw std::runtime_error(fmt::format(
          "--engine {}: no engine profile by that name (known: {}){}", n,
          fmt::join(engine_names(), ", "),
          hint.empty() ? "" : fmt::format("; did you mean {}?", hint)));
    }
    bool seen = false;
    for (const EngineProfile* p : out) seen = seen || p == found;
    if (!seen) out.push_back(found);
  }
  return out;
}

}  // namespace ckd

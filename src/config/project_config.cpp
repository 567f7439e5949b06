#include "config/project_config.h"

#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "io/json_depth.h"
#include "io/paths.h"
#include "remote/remote_store.h"
#include "rules/engine.h"

namespace ckd {
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kKeys = {"select", "ignore", "fail_on", "severity",
                                        "params", "source", "rules"};

std::string suggestion(const std::string& word, const std::vector<std::string>& names) {
  std::string hint = closest_name(word, names);
  return hint.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", hint);
}

std::vector<std::string> string_list(const nlohmann::json& v, const std::string& where) {
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array()) throw std::runtime_error(where + " must be a string or a list of strings");
  std::vector<std::string> out;
  for (const auto& item : v) {
    if (!item.is_string()) throw std::runtime_error(where + " must list strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::string relative_to(const std::string& config_path, const std::string& value) {
  fs::path p(value);
  if (p.is_absolute()) return value;
  return (fs::path(config_path).parent_path() / p).lexically_normal().string();
}

}  // namespace

ProjectConfig load_project_config(const std::string& path) {
  ProjectConfig config;
  config.path = path;
  nlohmann::json doc;
  try {
    doc = parse_json_capped(read_small_file(path, 1 << 20));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: not valid JSON: {}", path, e.what()));
  } catch (const IoError& e) {
    throw std::runtime_error(fmt::format("{}: {}", path, e.what()));
  }
  if (!doc.is_object()) throw std::runtime_error(path + ": must be a JSON object");
  for (const auto& [key, value] : doc.items()) {
    std::string where = fmt::format("{}: \"{}\"", path, key);
    if (key == "select") {
      config.select = string_list(value, where);
    } else if (key == "ignore") {
      config.ignore = string_list(value, where);
    } else if (key == "fail_on") {
      std::string v = value.is_string() ? value.get<std::string>() : "";
      if (v != "never" && !parse_severity(v))
        throw std::runtime_error(where + " must be one of error, warning, info, never");
      config.fail_on = v;
    } else if (key == "severity") {
      if (!value.is_object())
        throw std::runtime_error(where + " must map rule names to severities");
      for (const auto& [rule, sev] : value.items()) {
        auto s = sev.is_string() ? parse_severity(sev.get<std::string>()) : std::nullopt;
        if (!s)
          throw std::runtime_error(
              fmt::format("{}.{} must be error, warning or info", where, rule));
        config.severity[rule] = *s;
      }
    } else if (key == "params") {
      if (!value.is_object()) throw std::runtime_error(where + " must map rule names to objects");
      for (const auto& [rule, patch] : value.items()) {
        if (!patch.is_object())
          throw std::runtime_error(fmt::format("{}.{} must be an object", where, rule));
        config.params[rule] = patch;
      }
    } else if (key == "source") {
      if (!value.is_string()) throw std::runtime_error(where + " must be a directory path");
      config.source = relative_to(path, value.get<std::string>());
    } else if (key == "rules") {
      for (const std::string& f : string_list(value, where))
        config.rule_files.push_back(relative_to(path, f));
    } else {
      throw std::runtime_error(
          fmt::format("{}: unknown key \"{}\"{}", path, key, suggestion(key, kKeys)));
    }
  }
  return config;
}

std::optional<std::string> find_project_config(const std::string& dir) {
  fs::path p = fs::path(dir) / kProjectConfigName;
  std::error_code ec;
  if (fs::is_regular_file(p, ec)) return p.string();
  return std::nullopt;
}

void apply_project_config(const ProjectConfig& config, RuleSet& rules) {
  std::vector<std::string> names;
  for (const Rule& r : rules.rules()) names.push_back(r.name);
  auto rule_for = [&](const std::string& name, const char* section) -> Rule& {
    Rule* r = rules.find_mutable(name);
    if (!r) {
      throw std::runtime_error(fmt::format("{}: \"{}\": no rule named \"{}\"{}", config.path,
                                           section, name, suggestion(name, names)));
    }
    return *r;
  };
  for (const auto& [name, severity] : config.severity)
    rule_for(name, "severity").severity = severity;
  for (const auto& [name, patch] : config.params) {
    Rule& r = rule_for(name, "params");
    std::vector<std::string> known;
    for (const auto& [k, v] : r.params.items()) known.push_back(k);
    for (const auto& [k, v] : patch.items()) {
      if (!r.params.contains(k)) {
        throw std::runtime_error(
            fmt::format("{}: \"params\".\"{}\": rule {} has no option \"{}\"{}{}", config.path,
                        name, r.name, k, suggestion(k, known),
                        known.empty() ? " (it takes none)"
                                      : fmt::format(" (options: {})", fmt::join(known, ", "))));
      }
    }
    r.params.merge_patch(patch);
  }
}

ProjectRules load_project_rules(const std::string& dir, const std::string& config_file,
                                bool use_config, const std::vector<std::string>& extra_rule_files) {
  ProjectRules out{RuleSet::builtin(), std::nullopt};
  if (!config_file.empty()) {
    out.config = load_project_config(config_file);
  } else if (use_config && !dir.empty() && !is_remote_location(dir)) {
    if (auto found = find_project_config(dir)) out.config = load_project_config(*found);
  }
  std::vector<std::string> files = out.config ? out.config->rule_files : std::vector<std::string>{};
  files.insert(files.end(), extra_rule_files.begin(), extra_rule_files.end());
  for (const std::string& path : files) out.rules.add_json(read_small_file(path, 16 << 20), path);
  if (out.config) apply_project_config(*out.config, out.rules);
  return out;
}

}  // namespace ckd

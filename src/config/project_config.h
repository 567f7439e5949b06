// ckptdoctor.json: a project's scan settings, found in the scanned directory or given with
// --config. Every key and rule name is checked: a typo is an error with a suggestion, never a
// silently ignored setting.
//
//   {"select": ["ALL"], "ignore": ["fused-scale-mismatch"], "fail_on": "warning",
//    "severity": {"index-total-size": "error"},
//    "params": {"fused-scale-mismatch": {"relative_tolerance": 1e-4}},
//    "source": "../Model-BF16", "rules": ["site-rules.json"]}
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rules/rule_set.h"

namespace ckd {

inline constexpr const char* kProjectConfigName = "ckptdoctor.json";

struct ProjectConfig {
  std::string path;  // where it was read from
  std::vector<std::string> select, ignore;
  std::optional<std::string> fail_on;            // error, warning, info, never
  std::map<std::string, Severity> severity;      // rule name or code -> severity
  std::map<std::string, nlohmann::json> params;  // rule name or code -> merge patch of params
  std::optional<std::string> source;             // resolved against the config's directory
  std::vector<std::string> rule_files;           // likewise
};

// Parses a config file; throws std::runtime_error naming the file, the key and a suggestion.
// Rule names are checked later, against the rule set in use (see apply_project_config).
ProjectConfig load_project_config(const std::string& path);

// DIR/ckptdoctor.json when it exists.
std::optional<std::string> find_project_config(const std::string& dir);

// Applies severity and params overrides to `rules`; throws for unknown rule names and for
// params keys the rule does not have.
void apply_project_config(const ProjectConfig& config, RuleSet& rules);

// The rule set a command runs with, for every command and the Python API alike: the built-in
// rules, then the rule files of the project settings and `extra_rule_files` (16 MiB each at
// most), then the settings' severity and params overrides. The settings are `config_file` when
// given, else DIR/ckptdoctor.json when `use_config` and DIR is local. The settings found come
// back too, for the options they carry (select, ignore, fail_on, source).
struct ProjectRules {
  RuleSet rules;
  std::optional<ProjectConfig> config;
};
ProjectRules load_project_rules(const std::string& dir, const std::string& config_file,
                                bool use_config, const std::vector<std::string>& extra_rule_files);

}  // namespace ckd

// The Python module ckptdoctor._core (nanobind): each command binds itself in its own file, and
// module.cpp calls the binders. Adding a command (inspect, diff) is one bind_* function in a new
// file, its line in module.cpp, and its name in python/ckptdoctor/__init__.py.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nanobind/nanobind.h>

#include "config/project_config.h"
#include "rules/rule_set.h"

namespace ckd::python {

void bind_rules(nanobind::module_& m);
void bind_scan(nanobind::module_& m);
void bind_compare(nanobind::module_& m);
void bind_inspect(nanobind::module_& m);  // inspect and diff

// The rule set a command runs with, built the way the CLI builds it: the built-in rules, then
// the project settings' rule files and `extra_rule_files`, then the settings' severity and params
// overrides. `config_file` names the settings; otherwise DIR/ckptdoctor.json is used when
// `use_config` and DIR is local. The settings found are handed back for the options they carry
// (select, ignore, fail_on, source), which arguments given by the caller override.
struct RuleSettings {
  RuleSet rules;
  std::optional<ProjectConfig> config;
};
RuleSettings load_rule_settings(const std::string& dir, const std::optional<std::string>& config_file,
                                bool use_config, const std::vector<std::string>& extra_rule_files);

}  // namespace ckd::python

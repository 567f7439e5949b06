// The one place a command's rule set is built from its settings: the built-in rules, the rule
// files of the project's ckptdoctor.json (DIR's, or --config's), --rules files, the project's
// severity and params overrides, then --select/--ignore (given on the command line, else the
// project's). scan, fix (--apply-safe and the re-scan of its output) and compare all call
// build_rule_setup, so a project file means the same thing to every command.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "config/project_config.h"
#include "rules/rule_set.h"

namespace ckd::cli {

struct RuleSettings {
  std::string dir;                          // where ckptdoctor.json is looked for (local only)
  std::string config_file;                  // --config
  bool no_config = false;                   // --no-config
  std::vector<std::string> rule_files;      // --rules
  std::vector<std::string> select, ignore;  // --select / --ignore (comma lists allowed)
  CLI::Option* select_option = nullptr;     // given on the command line: wins over the project's
  CLI::Option* ignore_option = nullptr;
};

struct RuleSetup {
  RuleSet rules;
  std::optional<ProjectConfig> config;
  std::vector<const Rule*> selected;  // points into `rules` (a move keeps it valid; no copies)

  RuleSetup() = default;
  RuleSetup(RuleSetup&&) = default;
  RuleSetup& operator=(RuleSetup&&) = default;
  RuleSetup(const RuleSetup&) = delete;
  RuleSetup& operator=(const RuleSetup&) = delete;
};

// Throws std::runtime_error (exit 2) for an unreadable or malformed file, an unknown key or
// rule name (with a suggestion).
RuleSetup build_rule_setup(const RuleSettings& settings);

// The options every rule-running command takes: --rules, --config, --no-config, and with
// `selection` --select/--ignore. `what` names the directory ckptdoctor.json is read from.
void add_rule_options(CLI::App& command, RuleSettings& settings, bool selection,
                      const std::string& what);

// A command-line value wins; else the project's; else the default already in `value`.
void apply_project_default(std::string& value, const CLI::Option* option,
                           const std::optional<std::string>& project_value);

}  // namespace ckd::cli

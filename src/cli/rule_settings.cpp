#include "cli/rule_settings.h"

#include "cli/cli_common.h"
#include "rules/engine.h"

namespace ckd::cli {

RuleSetup build_rule_setup(const RuleSettings& s) {
  RuleSetup setup;
  ProjectRules loaded = load_project_rules(s.dir, s.config_file, !s.no_config, s.rule_files);
  setup.rules = std::move(loaded.rules);
  setup.config = std::move(loaded.config);
  std::vector<std::string> select = s.select, ignore = s.ignore;
  if (setup.config) {
    if (!(s.select_option && s.select_option->count())) select = setup.config->select;
    if (!(s.ignore_option && s.ignore_option->count())) ignore = setup.config->ignore;
  }
  setup.selected = select_rules(setup.rules, split_commas(select), split_commas(ignore));
  return setup;
}

void add_rule_options(CLI::App& command, RuleSettings& s, bool selection, const std::string& what) {
  if (selection) {
    s.select_option =
        command.add_option("--select", s.select,
                           "only these rules: names, codes, code prefixes (CKD5), families, ALL");
    s.ignore_option =
        command.add_option("--ignore", s.ignore, "skip these rules (same forms as --select)");
  }
  command.add_option("--rules", s.rule_files, "add rules from a JSON file");
  command.add_option("--config", s.config_file,
                     "project settings (default: " + what + "/ckptdoctor.json when it exists)");
  command.add_flag("--no-config", s.no_config, "ignore " + what + "/ckptdoctor.json");
}

void apply_project_default(std::string& value, const CLI::Option* option,
                           const std::optional<std::string>& project_value) {
  if ((option == nullptr || option->count() == 0) && project_value) value = *project_value;
}

}  // namespace ckd::cli

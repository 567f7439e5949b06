#include "cli/rule_settings.h"

#include "cli/cli_common.h"
#include "io/paths.h"
#include "remote/remote_store.h"
#include "rules/engine.h"

namespace ckd::cli {

RuleSetup build_rule_setup(const RuleSettings& s) {
  RuleSetup setup;
  if (!s.config_file.empty()) {
    setup.config = load_project_config(s.config_file);
  } else if (!s.no_config && !s.dir.empty() && !is_remote_location(s.dir)) {
    if (auto found = find_project_config(s.dir)) setup.config = load_project_config(*found);
  }
  setup.rules = RuleSet::builtin();
  std::vector<std::string> files =
      setup.config ? setup.config->rule_files : std::vector<std::string>{};
  files.insert(files.end(), s.rule_files.begin(), s.rule_files.end());
  for (const std::string& path : files) setup.rules.add_json(read_small_file(path, 16 << 20), path);
  std::vector<std::string> select = s.select, ignore = s.ignore;
  if (setup.config) {
    apply_project_config(*setup.config, setup.rules);
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

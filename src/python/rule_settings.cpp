// The rule set from project settings: the same loader the CLI uses (config/project_config.h).
#include "python/bindings.h"

namespace ckd::python {

RuleSettings load_rule_settings(const std::string& dir, const std::optional<std::string>& config_file,
                                bool use_config, const std::vector<std::string>& extra_rule_files) {
  ProjectRules loaded =
      load_project_rules(dir, config_file.value_or(""), use_config, extra_rule_files);
  return RuleSettings{std::move(loaded.rules), std::move(loaded.config)};
}

}  // namespace ckd::python

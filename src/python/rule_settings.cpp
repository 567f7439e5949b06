// The rule set from project settings: the same loader the CLI uses (config/project_config.h).
#include <sstream>

#include "python/bindings.h"

namespace ckd::python {

RuleSettings load_rule_settings(const std::string& dir, const std::optional<std::string>& config_file,
                                bool use_config, const std::vector<std::string>& extra_rule_files) {
  ProjectRules loaded =
      load_project_rules(dir, config_file.value_or(""), use_config, extra_rule_files);
  return RuleSettings{std::move(loaded.rules), std::move(loaded.config)};
}

std::vector<std::string> split_commas(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& v : values) {
    std::stringstream ss(v);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (!item.empty()) out.push_back(item);
    }
  }
  return out;
}

}  // namespace ckd::python

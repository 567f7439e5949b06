// The rule set from project settings, as src/cli/main.cpp builds it for scan and compare.
#include <sstream>

#include "io/paths.h"
#include "python/bindings.h"
#include "remote/remote_store.h"

namespace ckd::python {

RuleSettings load_rule_settings(const std::string& dir, const std::optional<std::string>& config_file,
                                bool use_config, const std::vector<std::string>& extra_rule_files) {
  RuleSettings out{RuleSet::builtin(), std::nullopt};
  if (config_file) {
    out.config = load_project_config(*config_file);
  } else if (use_config && !is_remote_location(dir)) {
    if (auto found = find_project_config(dir)) out.config = load_project_config(*found);
  }
  std::vector<std::string> files = out.config ? out.config->rule_files : std::vector<std::string>{};
  files.insert(files.end(), extra_rule_files.begin(), extra_rule_files.end());
  // The same cap as the CLI's --rules: a rules file is a small JSON document.
  for (const std::string& path : files) out.rules.add_json(read_small_file(path, 16 << 20), path);
  if (out.config) apply_project_config(*out.config, out.rules);
  return out;
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

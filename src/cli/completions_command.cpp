#include "cli/completions_command.h"

#include <iostream>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "cli/completions.h"
#include "report/ci_common.h"
#include "rules/rule_set.h"

namespace ckd::cli {
namespace {

// Built-in rule names and codes, their families and code prefixes (CKD5), and ALL: what
// `rules NAME` and --select/--ignore accept.
std::vector<std::string> rule_words() {
  std::set<std::string> families, prefixes, names;
  RuleSet rules = RuleSet::builtin();
  for (const Rule& r : rules.rules()) {
    families.insert(r.family);
    prefixes.insert(r.code.substr(0, 4));
    names.insert(r.name);
    names.insert(r.code);
  }
  // Families first, then code prefixes, then rules: the order a shell lists them in.
  std::vector<std::string> words(families.begin(), families.end());
  words.insert(words.end(), prefixes.begin(), prefixes.end());
  words.insert(words.end(), names.begin(), names.end());
  words.push_back("ALL");
  return words;
}

}  // namespace

Command add_completions_command(CLI::App& app) {
  auto shell = std::make_shared<std::string>();
  CLI::App* completions =
      app.add_subcommand("completions", "Print a shell completion script (bash, zsh, fish)");
  completions->add_option("SHELL", *shell, "the shell")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  Command command;
  command.app = completions;
  command.run = [shell, &app] {
    CompletionWords words;
    std::vector<std::string> rules = rule_words();
    words.positional["rules"] = rules;
    words.option["--select"] = rules;
    words.option["--ignore"] = rules;
    std::cout << shell_completion(app, *shell, words);
    return kExitClean;
  };
  return command;
}

Command add_man_command(CLI::App& app) {
  Command command;
  command.app = app.add_subcommand("man", "Print the man page (roff), made from this help");
  command.run = [&app] {
    std::cout << man_page(app, fmt::format("ckptdoctor {}", ckptdoctor_version()));
    return kExitClean;
  };
  return command;
}

}  // namespace ckd::cli

// Shell completions and the man page, generated from the CLI11 definition of the commands, so
// they always list exactly the options `--help` shows.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace ckd {

// Words completed beyond what CLI11 knows: rule names, codes and families for `rules NAME` and
// for --select/--ignore.
struct CompletionWords {
  std::map<std::string, std::vector<std::string>> positional;  // command -> its argument's words
  std::map<std::string, std::vector<std::string>> option;      // "--select" -> its values
};

// bash, zsh (through bashcompinit) or fish; throws std::invalid_argument for another shell.
std::string shell_completion(const CLI::App& app, const std::string& shell,
                             const CompletionWords& words = {});

// A man(1) page in roff.
std::string man_page(const CLI::App& app, const std::string& version);

}  // namespace ckd

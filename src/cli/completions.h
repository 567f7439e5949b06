// Shell completions and the man page, generated from the CLI11 definition of the commands, so
// they always list exactly the options `--help` shows.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace ckd {

// bash, zsh (through bashcompinit) or fish; throws std::invalid_argument for another shell.
std::string shell_completion(const CLI::App& app, const std::string& shell);

// A man(1) page in roff.
std::string man_page(const CLI::App& app, const std::string& version);

}  // namespace ckd

// ckptdoctor: verify quantized LLM checkpoints. Exit codes: 0 clean, 1 findings at or above
// --fail-on, 2 the tool could not run. This file only wires the commands: each lives in its own
// src/cli/NAME_command.cpp and registers itself with add_NAME_command.
#include <algorithm>
#include <iostream>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "cli/compare_command.h"
#include "cli/completions_command.h"
#include "cli/diff_command.h"
#include "cli/fix_command.h"
#include "cli/inspect_command.h"
#include "cli/rules_command.h"
#include "cli/scan_command.h"
#include "report/ci_common.h"
#include "rules/engine.h"

namespace {

using ckd::cli::Command;
using ckd::cli::kExitClean;
using ckd::cli::kExitError;

// "ckptdoctor frobnicate": CLI11 would say "A subcommand is required"; name the word and the
// nearest command instead. Empty when argv's first word is an option or a known command.
std::string unknown_command_error(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return "";
  std::string word = argv[1];
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == word) return "";
    names.push_back(sub->get_name());
  }
  std::string hint = ckd::closest_name(word, names);
  return fmt::format("unknown command {}{}; commands: {}", word,
                     hint.empty() ? "" : fmt::format(" (did you mean {}?)", hint),
                     fmt::join(names, ", "));
}

// -s prints nothing at all, a usage error included: looked for by hand, since the parse that
// would set it just failed.
bool silent_usage_error(const std::vector<Command>& commands, int argc, char** argv) {
  if (argc < 2) return false;
  for (const Command& c : commands) {
    if (!c.has_silent_flag || c.app->get_name() != argv[1]) continue;
    return std::any_of(argv + 2, argv + argc, [](const char* a) {
      return std::string_view(a) == "-s" || std::string_view(a) == "--silent";
    });
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ckptdoctor: verify and repair quantized LLM checkpoints (safetensors)"};
  app.set_version_flag("--version", fmt::format("ckptdoctor {}", ckd::ckptdoctor_version()));
  app.require_subcommand(1);

  std::vector<Command> commands;
  commands.push_back(ckd::cli::add_scan_command(app));
  commands.push_back(ckd::cli::add_rules_command(app));
  commands.push_back(ckd::cli::add_fix_command(app));
  commands.push_back(ckd::cli::add_compare_command(app));
  commands.push_back(ckd::cli::add_inspect_cli(app));
  commands.push_back(ckd::cli::add_diff_cli(app));
  // Generated from the commands above: keep these last.
  commands.push_back(ckd::cli::add_completions_command(app));
  commands.push_back(ckd::cli::add_man_command(app));

  if (std::string error = unknown_command_error(app, argc, argv); !error.empty()) {
    std::cerr << "ckptdoctor: error: " << error << "\n";
    return kExitError;
  }
  for (const Command& c : commands) c.before_parse(argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0 && silent_usage_error(commands, argc, argv)) return kExitError;
    int code = app.exit(e);
    return code == 0 ? kExitClean : kExitError;
  }

  const Command* parsed = nullptr;
  for (const Command& c : commands)
    if (c.app->parsed()) parsed = &c;
  if (!parsed) return kExitError;  // require_subcommand(1) makes this unreachable
  try {
    return parsed->run();
  } catch (const std::exception& e) {
    // -s prints nothing at all: exit code 2 is the whole answer (README: exit codes).
    if (!parsed->silent()) std::cerr << "ckptdoctor: error: " << e.what() << "\n";
    return kExitError;
  }
}

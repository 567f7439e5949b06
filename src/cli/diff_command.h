// ckptdoctor diff A B: two checkpoints side by side from their headers (README "diff"). Exit
// codes like diff(1): 0 the same, 1 different, 2 could not compare.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace ckd {

struct DiffArgs {
  std::string a, b;
  std::string format = "text";
  std::string color = "auto";
  std::string output_file;
  size_t limit = 20;
  int threads = 0;
};

void add_diff_command(CLI::App& app, DiffArgs& args);
int run_diff_command(const DiffArgs& args);

namespace cli {
// The command as main.cpp registers every command (cli/command.h).
Command add_diff_cli(CLI::App& app);
}  // namespace cli

}  // namespace ckd

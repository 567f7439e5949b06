// ckptdoctor inspect PATH: what a checkpoint holds, without judging it (README "inspect").
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace ckd {

struct InspectArgs {
  std::string path;
  std::string format = "text";
  std::string color = "auto";
  std::vector<std::string> filters;
  bool all_tensors = false;
  int threads = 0;
};

void add_inspect_command(CLI::App& app, InspectArgs& args);
// Exit code: 0 printed, 2 (thrown IoError) when the checkpoint cannot be read.
int run_inspect_command(const InspectArgs& args);

namespace cli {
// The command as main.cpp registers every command (cli/command.h).
Command add_inspect_cli(CLI::App& app);
}  // namespace cli

}  // namespace ckd

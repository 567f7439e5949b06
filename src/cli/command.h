// What every command file gives main.cpp: the CLI11 subcommand it registered and how to run it.
// A command file exposes `Command add_NAME_command(CLI::App& app)`; its parsed options live in
// state the `run` closure owns.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace ckd::cli {

// DESIGN.md contracts: 0 nothing at or above --fail-on, 1 findings at or above it, 2 could not
// run (usage, unreadable input, internal error; CLI11's own codes map to 2).
inline constexpr int kExitClean = 0;
inline constexpr int kExitFindings = 1;
inline constexpr int kExitError = 2;

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
  // -s/--silent was given: print nothing, errors included (the exit code is the answer).
  std::function<bool()> silent = [] { return false; };
  // The command has -s/--silent, so a usage error is silenced too when argv holds it.
  bool has_silent_flag = false;
  // Called with argv before parsing (e.g. scan: DIR is optional when --from-file is given;
  // a required positional is what keeps `--select A B DIR` from giving DIR to --select).
  std::function<void(int, char**)> before_parse = [](int, char**) {};
};

}  // namespace ckd::cli

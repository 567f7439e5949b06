#include "cli/inspect_command.h"

#include <memory>

#include <cstdlib>
#include <iostream>

#include "inspect/inspect.h"
#include "cli/cli_common.h"
#include "remote/remote_store.h"
#include "report/inspect_report.h"

namespace ckd {

void add_inspect_command(CLI::App& app, InspectArgs& a) {
  CLI::App* cmd = app.add_subcommand(
      "inspect", "Show what a checkpoint holds (architecture, quantization, parameters, modules "
                 "by scheme, shards) from its headers, without judging it");
  cmd->add_option("PATH", a.path,
                  "checkpoint directory, a single .safetensors file, or hf://ORG/REPO[@REV]")
      ->required();
  cmd->add_option("--format", a.format, "output format")->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("--filter", a.filters,
                  "list the tensors whose names match GLOB (* and ?; repeatable)")
      ->allow_extra_args(false);
  cmd->add_flag("--tensors", a.all_tensors, "list every tensor");
  cmd->add_option("--threads", a.threads, "worker threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--color", a.color, "colour text output")
      ->check(CLI::IsMember({"auto", "always", "never"}));
}

int run_inspect_command(const InspectArgs& a) {
  OpenOptions open_options;
  open_options.threads = a.threads;
  auto ck = Checkpoint::open(open_store(a.path, HttpSettings{}), open_options);
  if (std::string why = unreadable_reason(*ck); !why.empty())
    throw IoError(fmt::format("{}: {}", a.path, why));
  InspectOptions options;
  options.filters = a.filters;
  options.all_tensors = a.all_tensors;
  InspectReport report = inspect_checkpoint(*ck, options);
  if (a.format == "json") {
    write_inspect_json(std::cout, report);
  } else {
    write_inspect_text(std::cout, report, Palette{cli::use_color(a.color)});
  }
  std::cout.flush();
  if (!std::cout) throw IoError("stdout: writing the report failed");
  return 0;
}

namespace cli {

Command add_inspect_cli(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  add_inspect_command(app, *args);
  Command command;
  command.app = app.get_subcommand("inspect");
  command.run = [args] { return run_inspect_command(*args); };
  return command;
}

}  // namespace cli

}  // namespace ckd

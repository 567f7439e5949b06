#include "cli/diff_command.h"

#include <memory>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "diff/checkpoint_diff.h"
#include "cli/cli_common.h"
#include "remote/remote_store.h"
#include "report/diff_report.h"

namespace ckd {

void add_diff_command(CLI::App& app, DiffArgs& a) {
  CLI::App* cmd = app.add_subcommand(
      "diff", "Compare two checkpoints from their headers: keys, renames, dtypes and shapes, "
              "configs, tokenizer and other files (exit 1 when they differ)");
  cmd->add_option("A", a.a, "checkpoint directory, .safetensors file or hf://ORG/REPO[@REV]")
      ->required();
  cmd->add_option("B", a.b, "the checkpoint to compare it with")->required();
  cmd->add_option("--format", a.format, "output format")
      ->check(CLI::IsMember({"text", "json", "markdown"}));
  cmd->add_option("--output-file", a.output_file, "write the report to FILE instead of stdout");
  cmd->add_option("--limit", a.limit,
                  "text and markdown: at most N entries per list (0: all; JSON lists all)");
  cmd->add_option("--threads", a.threads, "worker threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--color", a.color, "colour text output")
      ->check(CLI::IsMember({"auto", "always", "never"}));
}

int run_diff_command(const DiffArgs& a) {
  OpenOptions open_options;
  open_options.threads = a.threads;
  auto ck_a = Checkpoint::open(open_store(a.a, HttpSettings{}), open_options);
  auto ck_b = Checkpoint::open(open_store(a.b, HttpSettings{}), open_options);
  CheckpointDiff diff = diff_checkpoints(*ck_a, *ck_b);

  std::ofstream file;
  if (!a.output_file.empty()) {
    file.open(a.output_file, std::ios::binary | std::ios::trunc);
    if (!file) throw IoError(fmt::format("{}: cannot write the report", a.output_file));
  }
  std::ostream& out = a.output_file.empty() ? std::cout : file;
  if (a.format == "json") {
    write_diff_json(out, diff);
  } else if (a.format == "markdown") {
    write_diff_markdown(out, diff, a.limit);
  } else {
    write_diff_text(out, diff, Palette{a.output_file.empty() && cli::use_color(a.color)}, a.limit);
  }
  out.flush();
  if (!out)
    throw IoError(fmt::format("{}: writing the report failed",
                              a.output_file.empty() ? "stdout" : a.output_file));
  return diff.same() ? 0 : 1;
}

namespace cli {

Command add_diff_cli(CLI::App& app) {
  auto args = std::make_shared<DiffArgs>();
  add_diff_command(app, *args);
  Command command;
  command.app = app.get_subcommand("diff");
  command.run = [args] { return run_diff_command(*args); };
  return command;
}

}  // namespace cli

}  // namespace ckd

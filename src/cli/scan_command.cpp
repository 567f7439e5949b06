#include "cli/scan_command.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "cli/cli_common.h"
#include "cli/report_output.h"
#include "cli/rule_settings.h"
#include "report/json_report.h"
#include "report/markdown_report.h"
#include "report/text_report.h"
#include "rules/engine.h"
#include "scan/baseline.h"
#include "scan/scan.h"

namespace ckd::cli {
namespace {

struct ScanArgs {
  RuleSettings rules;
  std::string source, format = "text", fail_on = "error", color = "auto", progress = "auto";
  std::string output_file, baseline;
  std::vector<std::string> engines;
  bool deep = false, quiet = false, silent = false, write_baseline = false;
  int threads = 0;
  HttpSettings http;
  CLI::Option* fail_on_option = nullptr;
  CLI::Option* source_option = nullptr;
};

void write_scan_report(std::ostream& out, const ScanArgs& a, const ScanReport& report) {
  if (a.format == "json") {
    write_json_report(out, report);
  } else if (a.format == "markdown") {
    write_markdown_report(out, report);
  } else if (is_ci_format(a.format)) {
    write_ci_format(out, a.format, report);
  } else {
    bool to_terminal = a.output_file.empty();
    write_text_report(
        out, report,
        TextStyle{to_terminal && use_color(a.color), a.quiet, to_terminal ? terminal_width() : 0});
  }
}

int run_scan_command(ScanArgs& a) {
  RuleSetup setup = build_rule_setup(a.rules);
  // Project settings apply first; options given on the command line win over them.
  if (setup.config) {
    apply_project_default(a.fail_on, a.fail_on_option, setup.config->fail_on);
    apply_project_default(a.source, a.source_option, setup.config->source);
  }
  if (a.write_baseline && a.baseline.empty())
    throw CLI::ValidationError("--write-baseline", "needs --baseline FILE (where to write)");
  // Read before the scan: a bad baseline fails fast.
  std::optional<Baseline> baseline;
  if (!a.baseline.empty() && !a.write_baseline) baseline = load_baseline(a.baseline);

  ScanRequest request;
  request.dir = a.rules.dir;
  request.source_dir = a.source;
  request.options.deep = a.deep;
  request.options.threads = a.threads;
  request.http = a.http;
  request.options.progress =
      a.deep && !a.silent &&
      (a.progress == "always" || (a.progress == "auto" && ::isatty(STDERR_FILENO)));
  request.rules = setup.selected;
  if (!a.engines.empty()) request.engines = select_engines(split_commas(a.engines));
  request.fail_on = a.fail_on == "never" ? std::nullopt : parse_severity(a.fail_on);
  ScanReport report = run_scan(request);
  if (a.write_baseline) {
    write_baseline(a.baseline, report);
    if (!a.silent)
      std::cerr << fmt::format("ckptdoctor: {} findings recorded in {}\n",
                               report.errors + report.warnings + report.infos, a.baseline);
  } else if (baseline) {
    apply_baseline(*baseline, report);
  }
  // Writing a baseline accepts what it records: the run is not a gate.
  const int code = a.write_baseline ? kExitClean : report.failed ? kExitFindings : kExitClean;
  if (a.silent) std::_Exit(code);
  emit_report(a.output_file, [&](std::ostream& out) { write_scan_report(out, a, report); });
  // Freeing a 60k-tensor checkpoint's tables costs more than the OS reclaiming them at exit.
  std::_Exit(code);
}

}  // namespace

Command add_scan_command(CLI::App& app) {
  auto a = std::make_shared<ScanArgs>();
  CLI::App* scan = app.add_subcommand("scan", "Scan a checkpoint directory and report its defects");
  scan->add_option("DIR", a->rules.dir,
                   "checkpoint directory (config.json, *.safetensors, index), hf://ORG/REPO[@REV] "
                   "or an https://.../resolve/REV/ URL (headers and scales fetched by Range)")
      ->required();
  scan->add_option("--format", a->format,
                   "output format: text, json, sarif (GitHub code scanning), junit, github "
                   "(workflow annotations + step summary), gitlab (Code Quality), markdown (a "
                   "pull-request comment or model card)")
      ->check(CLI::IsMember({"text", "json", "sarif", "junit", "github", "gitlab", "markdown"}));
  scan->add_option(
      "--output-file", a->output_file,
      "write the report to FILE instead of stdout (replaced whole, never half written)");
  a->fail_on_option = scan->add_option("--fail-on", a->fail_on,
                                       "exit 1 when a finding is at or above this severity")
                          ->check(CLI::IsMember({"error", "warning", "info", "never"}));
  add_rule_options(*scan, a->rules, true, "DIR");
  scan->add_option("--baseline", a->baseline,
                   "accepted findings (a JSON file): only findings not in it count for --fail-on; "
                   "entries no longer found are reported as gone");
  scan->add_flag("--write-baseline", a->write_baseline,
                 "record every finding of this scan in the --baseline FILE and exit 0");
  scan->add_option("--engine", a->engines,
                   "verdict per engine: vllm, sglang, transformers (default: all three)");
  a->source_option = scan->add_option("--source", a->source,
                                      "the BF16 source checkpoint (headers only) for key diffs");
  scan->add_option("--progress", a->progress, "progress on stderr for --deep (auto: on a terminal)")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  scan->add_flag("-s,--silent", a->silent,
                 "print nothing, errors included: the exit code is the answer (2: could not run)");
  scan->add_flag("--deep", a->deep, "read all tensor data: NaN/Inf and all-zero weights");
  scan->add_option("--threads", a->threads, "worker threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  scan->add_option("--color", a->color, "colour text output")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  scan->add_flag("-q,--quiet", a->quiet, "print findings only");
  scan->add_option("--timeout", a->http.stall_timeout_s,
                   "remote scans: give up on a transfer stalled this many seconds (default 30)")
      ->check(CLI::Range(1.0, 3600.0));
  scan->add_option("--deadline", a->http.deadline_s,
                   "remote scans: give up on a request (retries included) after this many seconds "
                   "(default: 60 plus 1 per 256 KiB requested)")
      ->check(CLI::Range(1.0, 86400.0));
  scan->add_option("--retries", a->http.retries,
                   "remote scans: extra attempts after a timeout, 429 or 5xx (default 2)")
      ->check(CLI::Range(0, 10));
  Command command;
  command.app = scan;
  command.run = [a] { return run_scan_command(*a); };
  command.silent = [a] { return a->silent; };
  command.has_silent_flag = true;
  return command;
}

}  // namespace ckd::cli

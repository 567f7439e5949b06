#include "cli/compare_command.h"

#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "cli/cli_common.h"
#include "io/progress.h"
#include "cli/report_output.h"
#include "cli/rule_settings.h"
#include "compare/compare.h"
#include "io/atomic_file.h"
#include "remote/remote_store.h"
#include "report/compare_findings.h"
#include "report/compare_html.h"
#include "report/compare_report.h"
#include "report/markdown_report.h"
#include "report/text_report.h"

namespace ckd::cli {
namespace {

struct CompareArgs {
  CompareRequest request;
  RuleSettings rules;
  std::string format = "text", device = "auto", color = "auto", html, output_file;
  std::string fail_on = "error", progress = "auto";
  CLI::Option* fail_on_option = nullptr;
  bool quiet = false, silent = false;
};

void write_compare(std::ostream& out, const CompareArgs& a, const CompareReport& report,
                   const ScanReport& findings) {
  bool to_terminal = a.output_file.empty();
  if (a.format == "json") {
    write_compare_json(out, report);
  } else if (a.format == "markdown") {
    write_compare_markdown(out, report, findings);
  } else if (is_ci_format(a.format)) {
    write_ci_format(out, a.format, findings);
  } else if (a.quiet) {  // the failing modules only, as scan -q prints its findings
    write_text_report(out, findings, TextStyle{to_terminal && use_color(a.color), true, 0});
  } else {
    write_compare_text(out, report, Palette{to_terminal && use_color(a.color)});
  }
}

int run_compare_command(CompareArgs& a) {
  if (is_remote_location(a.request.quant_dir) || is_remote_location(a.request.source_dir))
    throw CLI::ValidationError("compare", "reads every weight: download the checkpoints first");
  a.request.device = a.device;
  // The same project settings as scan: params.roundtrip-error.max_rel_error patches the limits.
  a.rules.dir = a.request.quant_dir;
  RuleSetup setup = build_rule_setup(a.rules);
  if (setup.config) apply_project_default(a.fail_on, a.fail_on_option, setup.config->fail_on);
  const Rule* rule = setup.rules.find("roundtrip-error");
  if (!rule) throw std::runtime_error("the roundtrip-error rule is missing from the rule set");
  a.request.rule = rule;
  a.request.progress = !a.silent && progress_wanted(a.progress);
  CompareReport report = run_compare(a.request);
  ScanReport findings = compare_findings(
      report, *rule, a.fail_on == "never" ? std::nullopt : parse_severity(a.fail_on));
  const int code = findings.failed ? kExitFindings : kExitClean;
  if (!a.html.empty())
    write_file_atomically(a.html, [&](std::ostream& page) { write_compare_html(page, report); });
  if (a.silent) std::_Exit(code);
  emit_report(a.output_file, [&](std::ostream& out) { write_compare(out, a, report, findings); });
  return code;
}

}  // namespace

Command add_compare_command(CLI::App& app) {
  auto a = std::make_shared<CompareArgs>();
  CLI::App* compare = app.add_subcommand(
      "compare", "Dequantize every quantized module and measure it against the BF16 source");
  compare->add_option("QUANT", a->request.quant_dir, "the quantized checkpoint directory")
      ->required();
  compare->add_option("--source", a->request.source_dir, "the BF16 checkpoint it was made from")
      ->required();
  compare->add_option("--device", a->device, "where to decode (auto: a GPU when there is one)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  compare
      ->add_option("--format", a->format,
                   "output format: text, json, or as a gate like scan's: sarif, junit, github, "
                   "gitlab, markdown (each failing module a roundtrip-error finding)")
      ->check(CLI::IsMember({"text", "json", "sarif", "junit", "github", "gitlab", "markdown"}));
  compare->add_option("--output-file", a->output_file,
                      "write the report to FILE instead of stdout (replaced whole)");
  a->fail_on_option =
      compare
          ->add_option("--fail-on", a->fail_on,
                       "exit 1 when a finding is at or above this severity (modules over their "
                       "limit: the rule's severity; not decoded: error; no source: info)")
          ->check(CLI::IsMember({"error", "warning", "info", "never"}));
  compare->add_option("--html", a->html,
                      "also write a self-contained HTML page: heatmap, histograms, failures");
  compare->add_option("--threads", a->request.threads, "worker threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  add_rule_options(*compare, a->rules, false, "QUANT");
  compare->add_option("--color", a->color, "colour text output")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  compare->add_flag("-q,--quiet", a->quiet, "print the failing modules only");
  compare->add_option("--progress", a->progress,
                      "modules measured, rate and time left on stderr (auto: on a terminal)")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  compare->add_flag(
      "-s,--silent", a->silent,
      "print nothing, errors included: the exit code is the answer (2: could not run)");
  Command command;
  command.app = compare;
  command.run = [a] { return run_compare_command(*a); };
  command.silent = [a] { return a->silent; };
  command.has_silent_flag = true;
  return command;
}

}  // namespace ckd::cli

#include "cli/fix_command.h"

#include <signal.h>

#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/cli_common.h"
#include "io/progress.h"
#include "cli/rule_settings.h"
#include "fix/fix_command.h"
#include "report/fix_report.h"
#include "report/text_report.h"
#include "scan/scan.h"

namespace ckd::cli {
namespace {

struct FixArgs {
  FixRequest request;
  RuleSettings rules;
  std::vector<std::string> renames;
  std::vector<std::string> inject_values;
  CLI::Option* inject = nullptr;
  CLI::Option* fail_on_option = nullptr;
  CLI::Option* source_option = nullptr;
  std::string fail_on = "error";
  std::string color = "auto";
  std::string format = "text";
  std::string progress = "auto";
  bool quiet = false;
};

// The flags that name fixes, turned into FixOptions; throws a usage error (exit 2).
void parse_fix_flags(FixArgs& a) {
  FixRequest& r = a.request;
  if (!r.dry_run && r.out_dir.empty() && !r.in_place)
    throw CLI::ValidationError("fix", "give -o OUT, --in-place or --dry-run");
  for (const std::string& rename : a.renames) {
    size_t eq = rename.find('=');
    if (eq == std::string::npos || eq == 0)
      throw CLI::ValidationError("--rename", "expected FROM=TO, got " + rename);
    r.options.renames.emplace_back(rename.substr(0, eq), rename.substr(eq + 1));
  }
  if (a.inject->count() > 0 || !a.inject_values.empty()) {
    float value = 1.0f;
    if (!a.inject_values.empty() && !a.inject_values.front().empty()) {
      try {
        value = std::stof(a.inject_values.front());
      } catch (const std::exception&) {
        throw CLI::ValidationError("--inject-input-scale",
                                   "not a number: " + a.inject_values.front());
      }
    }
    r.options.inject_input_scale = value;
  }
  bool any_fix = !r.options.strip_prefixes.empty() || !r.options.renames.empty() ||
                 r.options.inject_input_scale || r.options.drop_tied_lm_head ||
                 r.options.normalize_headers || r.options.regenerate_index || r.options.apply_safe;
  if (!any_fix) {
    throw CLI::ValidationError(
        "fix", "name at least one fix (--apply-safe applies every safe fix the scan proposes)");
  }
}

int run_fix_command(FixArgs& a) {
  parse_fix_flags(a);
  FixRequest& r = a.request;
  // DIR's ckptdoctor.json (or --config) selects the rules --apply-safe follows and the re-scan
  // runs, and gives --fail-on and --source defaults, as it does for scan.
  a.rules.dir = r.dir;
  RuleSetup setup = build_rule_setup(a.rules);
  if (setup.config) {
    apply_project_default(a.fail_on, a.fail_on_option, setup.config->fail_on);
    apply_project_default(r.source_dir, a.source_option, setup.config->source);
  }
  r.rules = setup.selected;
  // A file size limit must fail the write (EFBIG, reported), not kill the process.
  ::signal(SIGXFSZ, SIG_IGN);
  r.progress = a.format != "json" && progress_wanted(a.progress);
  FixOutcome outcome = run_fix(r);
  Palette palette{use_color(a.color)};
  const bool json = a.format == "json";
  if (!json) write_fix_report(std::cout, r, outcome, palette);
  if (r.dry_run || (!outcome.written && !outcome.finished_interrupted)) {
    if (json) write_fix_json(std::cout, r, outcome, nullptr);
    if (r.dry_run) return outcome.plan.changes_anything() ? kExitFindings : kExitClean;
    return kExitClean;
  }

  // What is still wrong: the output scanned with the same rules. The text report of the fix is
  // written, so the input's tables go before the output's are built: one checkpoint's tables
  // in memory at a time (the JSON report still needs the plan, which points into them).
  if (!json) {
    outcome.plan = {};
    outcome.checkpoint.reset();
    outcome.source.reset();
  }
  ScanRequest scan;
  scan.dir = r.in_place ? r.dir : r.out_dir;
  scan.source_dir = r.source_dir;
  scan.options.threads = r.threads;
  scan.rules = setup.selected;
  scan.fail_on = a.fail_on == "never" ? std::nullopt : parse_severity(a.fail_on);
  ScanReport report = run_scan(scan);
  if (json) {
    write_fix_json(std::cout, r, outcome, &report);
  } else if (report.findings.empty()) {
    std::cout << fmt::format("re-scan of {}: clean\n", scan.dir);
  } else {
    std::cout << fmt::format("re-scan of {}: still {}, {}, {}\n", scan.dir,
                             count_of(report.errors, "error"), count_of(report.warnings, "warning"),
                             count_of(report.infos, "info", "infos"));
    write_text_report(std::cout, report, TextStyle{palette.on, true});
  }
  std::cout.flush();
  return report.failed ? kExitFindings : kExitClean;
}

}  // namespace

Command add_fix_command(CLI::App& app) {
  auto a = std::make_shared<FixArgs>();
  CLI::App* fix = app.add_subcommand(
      "fix", "Write a repaired checkpoint (DIR is never modified unless --in-place)");
  FixRequest& r = a->request;
  fix->add_option("DIR", r.dir, "checkpoint directory to repair")->required();
  CLI::Option* out =
      fix->add_option("-o,--output", r.out_dir, "write the repaired checkpoint here");
  CLI::Option* in_place = fix->add_flag(
      "--in-place", r.in_place, "replace DIR's files (crash-safe: a re-run finishes or undoes)");
  out->excludes(in_place);
  fix->add_option("--strip-prefix", r.options.strip_prefixes,
                  "remove the first occurrence of PREFIX from every tensor name; auto: take it "
                  "from the repeated-prefix / key-prefix-mismatch diagnosis")
      ->allow_extra_args(false);
  fix->add_option("--rename", a->renames,
                  "FROM=TO: RE2 substitution on tensor names (first match, \\1 for groups)")
      ->allow_extra_args(false);
  a->inject = fix->add_option("--inject-input-scale", a->inject_values,
                              "UNSAFE: add a missing static input scale (default 1.0) to every "
                              "quantized module lacking one; recorded in __metadata__")
                  ->expected(0, 1)
                  ->allow_extra_args(false);
  fix->add_flag("--drop-tied-lm-head", r.options.drop_tied_lm_head,
                "drop lm_head when tie_word_embeddings is true (redundant-lm-head)");
  fix->add_flag("--normalize-headers", r.options.normalize_headers,
                "rewrite badly padded, unaligned or null-metadata headers");
  fix->add_flag("--regenerate-index", r.options.regenerate_index,
                "rewrite model.safetensors.index.json from the shard headers");
  fix->add_flag("--apply-safe", r.options.apply_safe,
                "apply every safe fix for the rules that fire on DIR (the rules DIR's "
                "ckptdoctor.json, --rules and --select/--ignore select)");
  a->source_option =
      fix->add_option("--source", r.source_dir, "the BF16 source (for --strip-prefix auto)");
  fix->add_flag("--dry-run", r.dry_run,
                "print the plan and write nothing; exit 1 when something would change");
  fix->add_flag("--force", r.force, "write into a non-empty output directory");
  fix->add_option("--threads", r.threads, "worker threads (default: up to 4 for writing)")
      ->check(CLI::Range(0, 1024));
  a->fail_on_option =
      fix->add_option("--fail-on", a->fail_on,
                      "exit 1 when the re-scan of the output has a finding at or above this")
          ->check(CLI::IsMember({"error", "warning", "info", "never"}));
  add_rule_options(*fix, a->rules, true, "DIR");
  fix->add_option("--format", a->format,
                  "output format (json: the plan, the write and the re-scan)")
      ->check(CLI::IsMember({"text", "json"}));
  fix->add_option("--color", a->color, "colour text output")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  fix->add_flag("-q,--quiet", a->quiet, "print only the plan and remaining findings");
  fix->add_option("--progress", a->progress,
                  "files written, rate and time left on stderr (auto: on a terminal)")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  Command command;
  command.app = fix;
  command.run = [a] { return run_fix_command(*a); };
  return command;
}

}  // namespace ckd::cli

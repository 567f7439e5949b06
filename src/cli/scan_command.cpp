#include "cli/scan_command.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <iostream>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "cli/cli_common.h"
#include "cli/report_output.h"
#include "cli/rule_settings.h"
#include "engines/engine_profile.h"
#include "io/parallel.h"
#include "io/progress.h"
#include "io/thread_heap.h"
#include "io/trace.h"
#include "report/json_report.h"
#include "report/markdown_report.h"
#include "report/text_report.h"
#include "rules/engine.h"
#include "scan/baseline.h"
#include "scan/batch.h"
#include "scan/scan.h"

namespace ckd::cli {
namespace {

struct ScanArgs {
  RuleSettings rules;
  std::string source, format = "text", fail_on = "error", color = "auto", progress = "auto";
  std::string output_file, baseline, from_file, skip_done;
  std::vector<std::string> locations;  // DIR...: one or more
  std::vector<std::string> engines;
  int jobs = 2;
  bool deep = false, quiet = false, silent = false, write_baseline = false;
  int threads = 0;
  HttpSettings http;
  CLI::Option* fail_on_option = nullptr;
  CLI::Option* source_option = nullptr;
};

void write_scan_report(std::ostream& out, const ScanArgs& a, const ScanReport& report) {
  if (a.format == "json") {
    write_json_report(out, report);
  } else if (a.format == "jsonl") {
    BatchResult one{report.dir, report, ""};
    out << batch_result_json(one).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
        << "\n";
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

ScanRequest scan_request(const ScanArgs& a, const RuleSetup& setup, const std::string& dir,
                         const std::string& source, const std::string& fail_on) {
  ScanRequest request;
  request.dir = dir;
  request.source_dir = source;
  request.options.deep = a.deep;
  request.options.threads = a.threads;
  request.http = a.http;
  request.rules = setup.selected;
  if (!a.engines.empty()) request.engines = select_engines(split_commas(a.engines));
  request.fail_on = fail_on == "never" ? std::nullopt : parse_severity(fail_on);
  return request;
}

// Several checkpoints (DIR DIR..., --from-file): `jobs` scans at a time, each with its own
// ckptdoctor.json. JSON Lines are written as each scan completes (an interrupted survey keeps
// what it did; --skip-done resumes it); text and markdown reports follow the order given.
int run_batch_scan(ScanArgs& a) {
  std::vector<std::string> locations = a.locations;
  if (!a.from_file.empty()) {
    std::vector<std::string> listed = read_location_list(a.from_file);
    locations.insert(locations.end(), listed.begin(), listed.end());
  }
  if (a.format != "jsonl" && a.format != "text" && a.format != "markdown")
    throw CLI::ValidationError("--format", fmt::format("{} holds one checkpoint; several take "
                                                       "--format jsonl, text or markdown",
                                                       a.format));
  if (!a.baseline.empty())
    throw CLI::ValidationError("--baseline", "a baseline belongs to one checkpoint");
  if (!a.skip_done.empty()) {
    std::set<std::string> done = read_done_locations(a.skip_done);
    std::erase_if(locations, [&](const std::string& l) { return done.count(l) != 0; });
  }
  std::ofstream file;
  if (!a.output_file.empty() && a.format == "jsonl") {
    // Appended to when resuming into the same file; a line an interrupted run cut off is ended
    // first, so it stays one unreadable line that --skip-done passes over.
    bool resume = a.output_file == a.skip_done;
    bool cut = false;
    if (resume) {
      std::ifstream in(a.output_file, std::ios::binary | std::ios::ate);
      if (in && in.tellg() > 0) {
        in.seekg(-1, std::ios::end);
        cut = in.get() != '\n';
      }
    }
    file.open(a.output_file, std::ios::binary | (resume ? std::ios::app : std::ios::trunc));
    if (!file) throw IoError(fmt::format("{}: cannot write the results", a.output_file));
    if (cut) file << "\n";
  }
  std::ostream& lines = file.is_open() ? static_cast<std::ostream&>(file) : std::cout;
  std::vector<std::optional<BatchResult>> in_order(a.format == "jsonl" ? 0 : locations.size());
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < locations.size(); ++i) position.emplace(locations[i], i);
  ProgressLine progress(!a.silent && progress_wanted(a.progress), "scanned", locations.size(),
                        ProgressLine::Unit::kItems, "checkpoints");
  auto scan_one = [&](const std::string& where) {
    RuleSettings settings = a.rules;
    settings.dir = where;
    RuleSetup setup = build_rule_setup(settings);
    std::string source = a.source, fail_on = a.fail_on;
    if (setup.config) {
      apply_project_default(fail_on, a.fail_on_option, setup.config->fail_on);
      apply_project_default(source, a.source_option, setup.config->source);
    }
    return run_scan(scan_request(a, setup, where, source, fail_on));
  };
  int code = run_batch(locations, a.jobs, scan_one, [&](BatchResult&& r) {
    progress.add(1);
    if (a.silent) return;
    if (a.format == "jsonl") {
      lines << batch_result_json(r).dump(-1, ' ', false,
                                         nlohmann::json::error_handler_t::replace)
            << "\n";
      lines.flush();
      if (!lines) throw IoError("writing the results failed");
    } else {
      size_t at = position[r.location];
      in_order[at] = std::move(r);
    }
  });
  if (a.silent || a.format == "jsonl") return code;
  emit_report(a.output_file, [&](std::ostream& out) {
    for (auto& r : in_order) {
      if (!r) continue;  // a duplicate location: reported once
      if (!r->report) {
        out << fmt::format("ckptdoctor: error: {}: {}\n\n", r->location, r->error);
        continue;
      }
      write_scan_report(out, a, *r->report);
      out << "\n";
    }
  });
  return code;
}

int run_scan_command(ScanArgs& a) {
  // A scan lasts milliseconds and ends with _Exit: its heaps grow in a few large steps and
  // keep what is freed (fix and compare, which run long over large data, keep glibc's defaults).
  keep_heap_for_short_process();
  if (a.locations.empty() && a.from_file.empty())
    throw CLI::ValidationError("DIR", "give a checkpoint (or several, or --from-file LIST)");
  if (a.locations.size() != 1 || !a.from_file.empty() || !a.skip_done.empty() ||
      a.format == "jsonl")
    return run_batch_scan(a);
  a.rules.dir = a.locations.front();
  // The engines' profiles and the rule files are parsed side by side (about a millisecond each,
  // before anything of the checkpoint is read).
  SideThread engine_profiles([] { builtin_engine_profiles(); },
                             !a.engines.empty() && worker_count(a.threads) > 1);
  RuleSetup setup = build_rule_setup(a.rules);
  engine_profiles.finish();
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

  ScanRequest request = scan_request(a, setup, a.rules.dir, a.source, a.fail_on);
  request.options.progress = !a.silent && progress_wanted(a.progress);  // --deep, remote headers
  request.retain_tables = true;  // never freed: the process ends with _Exit below
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
  {
    PhaseTimer timer("report");
    emit_report(a.output_file, [&](std::ostream& out) { write_scan_report(out, a, report); });
  }
  // Freeing a 60k-tensor checkpoint's tables (report.retained) costs more than the OS
  // reclaiming them at exit.
  std::_Exit(code);
}

}  // namespace

Command add_scan_command(CLI::App& app) {
  auto a = std::make_shared<ScanArgs>();
  CLI::App* scan = app.add_subcommand("scan", "Scan a checkpoint directory and report its defects");
  CLI::Option* dir = scan->add_option("DIR", a->locations,
                   "checkpoint directory (config.json, *.safetensors, index), one .safetensors "
                   "file, hf://ORG/REPO[@REV] or an https://.../resolve/REV/ URL (headers and "
                   "scales fetched by Range); "
                   "several: one report each, one exit code (the worst)")
                         ->required();
  scan->add_option("--from-file", a->from_file,
                   "also scan the locations listed in FILE, one a line ('#' comments)");
  scan->add_option("--skip-done", a->skip_done,
                   "skip the locations a JSON Lines FILE of earlier results holds a finished "
                   "scan of (resume a survey: --format jsonl --output-file FILE --skip-done FILE)");
  scan->add_option("--jobs", a->jobs, "checkpoints scanned at once when there are several (2)")
      ->check(CLI::Range(1, 64));
  scan->add_option("--format", a->format,
                   "output format: text, json, sarif (GitHub code scanning), junit, github "
                   "(workflow annotations + step summary), gitlab (Code Quality), markdown (a "
                   "pull-request comment or model card), jsonl (one line per checkpoint)")
      ->check(CLI::IsMember(
          {"text", "json", "jsonl", "sarif", "junit", "github", "gitlab", "markdown"}));
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
  scan->add_option("--progress", a->progress,
                   "progress on stderr for --deep, remote scans and several checkpoints (auto: on "
                   "a terminal)")
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
  command.before_parse = [dir](int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (arg == "--from-file" || arg.starts_with("--from-file=")) dir->required(false);
    }
  };
  return command;
}

}  // namespace ckd::cli

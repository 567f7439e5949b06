// ckptdoctor: verify quantized LLM checkpoints. Exit codes: 0 clean, 1 findings at or above
// --fail-on, 2 the tool could not run.
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string_view>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/completions.h"
#include "config/project_config.h"
#include "fix/fix_command.h"
#include "io/byte_source.h"
#include "io/paths.h"
#include "remote/remote_store.h"
#include "report/ci_common.h"
#include "report/compare_html.h"
#include "report/compare_report.h"
#include "report/fix_report.h"
#include "report/github_report.h"
#include "report/gitlab_report.h"
#include "report/json_report.h"
#include "report/junit_report.h"
#include "report/sarif_report.h"
#include "report/text_report.h"
#include "rules/engine.h"
#include "scan/scan.h"

namespace {

constexpr int kExitClean = 0;
constexpr int kExitFindings = 1;
constexpr int kExitError = 2;

std::vector<std::string> split_commas(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& v : values) {
    std::stringstream ss(v);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (!item.empty()) out.push_back(item);
    }
  }
  return out;
}

bool use_color(const std::string& mode) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color && *no_color) return false;
  const char* force = std::getenv("FORCE_COLOR");
  if (force && *force && std::string(force) != "0") return true;
  return ::isatty(STDOUT_FILENO) != 0;
}

// Columns to wrap text output at: the terminal's width when stdout is one (COLUMNS wins over
// the ioctl), else 0 (no wrapping: pipes, files and CI logs get one line per finding).
size_t terminal_width() {
  if (::isatty(STDOUT_FILENO) == 0) return 0;
  if (const char* columns = std::getenv("COLUMNS"); columns && *columns) {
    char* end = nullptr;
    long n = std::strtol(columns, &end, 10);
    if (*end == '\0' && n >= 20 && n <= 10000) return static_cast<size_t>(n);
  }
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col >= 20) return size.ws_col;
  return 80;
}

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

ckd::RuleSet load_rules(const std::vector<std::string>& extra_files) {
  ckd::RuleSet rules = ckd::RuleSet::builtin();
  for (const std::string& path : extra_files)
    rules.add_json(ckd::read_small_file(path, 16 << 20), path);
  return rules;
}

void print_rule(const ckd::Rule& r) {
  std::cout << fmt::format("{} {} ({}, {}, fix: {})\n\n{}\n", r.code, r.name,
                           ckd::severity_name(r.severity), r.family,
                           ckd::fix_applicability_name(r.fix), r.docs.summary);
  auto section = [](const char* title, const std::string& body) {
    if (!body.empty()) std::cout << fmt::format("\n{}\n  {}\n", title, body);
  };
  section("Why is this bad?", r.docs.why);
  section("Example", r.docs.example);
  section("Fix", r.docs.fix);
  std::cout << fmt::format("\nCheck: {} (tier: {})", r.check, r.tier);
  if (!r.params.empty()) std::cout << fmt::format("\nOptions: {}", r.params.dump());
  std::cout << fmt::format("\nDefined in: {}\n", r.origin);
}

int run_rules_command(const std::string& name, const std::string& format,
                      const std::vector<std::string>& extra) {
  ckd::RuleSet rules = load_rules(extra);
  if (!name.empty()) {
    const ckd::Rule* r = rules.find(name);
    if (!r) {
      std::vector<std::string> names;
      for (const auto& rule : rules.rules()) names.push_back(rule.name);
      std::string hint = ckd::closest_name(name, names);
      std::cerr << fmt::format("ckptdoctor: error: no rule named {}{}\n", name,
                               hint.empty() ? "" : fmt::format(" (did you mean {}?)", hint));
      return kExitError;
    }
    print_rule(*r);
    return kExitClean;
  }
  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rules.rules()) {
      out.push_back({{"code", r.code},
                     {"name", r.name},
                     {"family", r.family},
                     {"severity", ckd::severity_name(r.severity)},
                     {"fix", ckd::fix_applicability_name(r.fix)},
                     {"tier", r.tier},
                     {"summary", r.docs.summary}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitClean;
  }
  std::string family;
  for (const auto& r : rules.rules()) {
    if (r.family != family) {
      family = r.family;
      std::cout << fmt::format("\n{}\n", family);
    }
    std::cout << fmt::format(
        "  {}  {:<26} {:<8} {:<12} {}\n", r.code, r.name, ckd::severity_name(r.severity),
        std::string("fix:") + ckd::fix_applicability_name(r.fix), r.docs.summary);
  }
  std::cout << "\nckptdoctor rules NAME explains one rule.\n";
  return kExitClean;
}

struct FixArgs {
  ckd::FixRequest request;
  std::vector<std::string> renames;
  std::vector<std::string> inject_values;
  CLI::Option* inject = nullptr;
  std::string fail_on = "error";
  std::string color = "auto";
  std::string format = "text";
  bool quiet = false;
};

void add_fix_command(CLI::App& app, FixArgs& a) {
  CLI::App* fix = app.add_subcommand(
      "fix", "Write a repaired checkpoint (DIR is never modified unless --in-place)");
  ckd::FixRequest& r = a.request;
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
  fix->add_option("--rename", a.renames,
                  "FROM=TO: RE2 substitution on tensor names (first match, \\1 for groups)")
      ->allow_extra_args(false);
  a.inject = fix->add_option("--inject-input-scale", a.inject_values,
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
                "apply every safe fix for the rules that fire on DIR");
  fix->add_option("--source", r.source_dir, "the BF16 source (for --strip-prefix auto)");
  fix->add_flag("--dry-run", r.dry_run,
                "print the plan and write nothing; exit 1 when something would change");
  fix->add_flag("--force", r.force, "write into a non-empty output directory");
  fix->add_option("--threads", r.threads, "worker threads (default: up to 4 for writing)")
      ->check(CLI::Range(0, 1024));
  fix->add_option("--fail-on", a.fail_on,
                  "exit 1 when the re-scan of the output has a finding at or above this")
      ->check(CLI::IsMember({"error", "warning", "info", "never"}));
  fix->add_option("--format", a.format, "output format (json: the plan, the write and the re-scan)")
      ->check(CLI::IsMember({"text", "json"}));
  fix->add_option("--color", a.color, "colour text output")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  fix->add_flag("-q,--quiet", a.quiet, "print only the plan and remaining findings");
}

int run_fix_command(FixArgs& a) {
  ckd::FixRequest& r = a.request;
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
  // A file size limit must fail the write (EFBIG, reported), not kill the process.
  ::signal(SIGXFSZ, SIG_IGN);
  ckd::FixOutcome outcome = ckd::run_fix(r);
  ckd::Palette palette{use_color(a.color)};
  const bool json = a.format == "json";
  if (!json) ckd::write_fix_report(std::cout, r, outcome, palette);
  if (r.dry_run || (!outcome.written && !outcome.finished_interrupted)) {
    if (json) ckd::write_fix_json(std::cout, r, outcome, nullptr);
    if (r.dry_run) return outcome.plan.changes_anything() ? kExitFindings : kExitClean;
    return kExitClean;
  }

  // What is still wrong: the output scanned with every rule. The text report of the fix is
  // written, so the input's tables go before the output's are built: one checkpoint's tables
  // in memory at a time (the JSON report still needs the plan, which points into them).
  if (!json) {
    outcome.plan = {};
    outcome.checkpoint.reset();
    outcome.source.reset();
  }
  static const ckd::RuleSet rule_set = ckd::RuleSet::builtin();
  ckd::ScanRequest scan;
  scan.dir = r.in_place ? r.dir : r.out_dir;
  scan.source_dir = r.source_dir;
  scan.options.threads = r.threads;
  scan.rules = ckd::select_rules(rule_set, {}, {});
  scan.fail_on = a.fail_on == "never" ? std::nullopt : ckd::parse_severity(a.fail_on);
  ckd::ScanReport report = ckd::run_scan(scan);
  if (json) {
    ckd::write_fix_json(std::cout, r, outcome, &report);
  } else if (report.findings.empty()) {
    std::cout << fmt::format("re-scan of {}: clean\n", scan.dir);
  } else {
    std::cout << fmt::format("re-scan of {}: still {}, {}, {}\n", scan.dir,
                             ckd::count_of(report.errors, "error"),
                             ckd::count_of(report.warnings, "warning"),
                             ckd::count_of(report.infos, "info", "infos"));
    ckd::write_text_report(std::cout, report, ckd::TextStyle{palette.on, true});
  }
  std::cout.flush();
  return report.failed ? kExitFindings : kExitClean;
}

struct CompareArgs {
  ckd::CompareRequest request;
  std::string format = "text", device = "auto", color = "auto", html, config;
  bool no_config = false;
  std::vector<std::string> extra_rules;
};

void add_compare_command(CLI::App& app, CompareArgs& a) {
  CLI::App* compare = app.add_subcommand(
      "compare", "Dequantize every quantized module and measure it against the BF16 source");
  compare->add_option("QUANT", a.request.quant_dir, "the quantized checkpoint directory")
      ->required();
  compare->add_option("--source", a.request.source_dir, "the BF16 checkpoint it was made from")
      ->required();
  compare->add_option("--device", a.device, "where to decode (auto: a GPU when there is one)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  compare->add_option("--format", a.format, "output format")
      ->check(CLI::IsMember({"text", "json"}));
  compare->add_option("--html", a.html,
                      "also write a self-contained HTML page: heatmap, histograms, failures");
  compare->add_option("--threads", a.request.threads, "worker threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  compare->add_option("--rules", a.extra_rules, "add rules from a JSON file");
  compare->add_option("--config", a.config,
                      "project settings, e.g. roundtrip-error limits in params (default: "
                      "QUANT/ckptdoctor.json when it exists)");
  compare->add_flag("--no-config", a.no_config, "ignore QUANT/ckptdoctor.json");
  compare->add_option("--color", a.color, "colour text output")
      ->check(CLI::IsMember({"auto", "always", "never"}));
}

int run_compare_command(CompareArgs& a) {
  if (ckd::is_remote_location(a.request.quant_dir) || ckd::is_remote_location(a.request.source_dir))
    throw CLI::ValidationError("compare", "reads every weight: download the checkpoints first");
  a.request.device = a.device;
  // The same project settings as scan: params.roundtrip-error.max_rel_error patches the limits.
  std::optional<ckd::ProjectConfig> config;
  if (!a.config.empty()) {
    config = ckd::load_project_config(a.config);
  } else if (!a.no_config) {
    if (auto found = ckd::find_project_config(a.request.quant_dir))
      config = ckd::load_project_config(*found);
  }
  std::vector<std::string> rule_files = config ? config->rule_files : std::vector<std::string>{};
  rule_files.insert(rule_files.end(), a.extra_rules.begin(), a.extra_rules.end());
  ckd::RuleSet rules = load_rules(rule_files);
  if (config) ckd::apply_project_config(*config, rules);
  a.request.rule = rules.find("roundtrip-error");
  ckd::CompareReport report = ckd::run_compare(a.request);
  if (!a.html.empty()) {
    // Written beside its final name and renamed: a reader never sees half a page.
    std::string partial = a.html + ".partial";
    {
      std::ofstream page(partial, std::ios::binary | std::ios::trunc);
      ckd::write_compare_html(page, report);
      page.flush();
      if (!page) throw ckd::IoError(fmt::format("{}: cannot write the HTML report", partial));
    }
    if (std::rename(partial.c_str(), a.html.c_str()) != 0)
      throw ckd::IoError(fmt::format("{}: cannot rename the HTML report into place", a.html));
  }
  if (a.format == "json") {
    ckd::write_compare_json(std::cout, report);
  } else {
    ckd::write_compare_text(std::cout, report, ckd::Palette{use_color(a.color)});
  }
  std::cout.flush();
  return report.passed() ? kExitClean : kExitFindings;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ckptdoctor: verify and repair quantized LLM checkpoints (safetensors)"};
  app.set_version_flag("--version", fmt::format("ckptdoctor {}", ckd::ckptdoctor_version()));
  app.require_subcommand(1);

  std::string dir, source, format = "text", fail_on = "error", color = "auto";
  std::vector<std::string> select, ignore, extra_rules;
  bool deep = false, quiet = false;
  int threads = 0;
  CLI::App* scan = app.add_subcommand("scan", "Scan a checkpoint directory and report its defects");
  scan->add_option("DIR", dir,
                   "checkpoint directory (config.json, *.safetensors, index), hf://ORG/REPO[@REV] "
                   "or an https://.../resolve/REV/ URL (headers and scales fetched by Range)")
      ->required();
  std::string output_file;
  scan->add_option("--format", format,
                   "output format: text, json, sarif (GitHub code scanning), junit, github "
                   "(workflow annotations + step summary), gitlab (Code Quality)")
      ->check(CLI::IsMember({"text", "json", "sarif", "junit", "github", "gitlab"}));
  scan->add_option("--output-file", output_file, "write the report to FILE instead of stdout");
  CLI::Option* fail_on_opt =
      scan->add_option("--fail-on", fail_on, "exit 1 when a finding is at or above this severity")
          ->check(CLI::IsMember({"error", "warning", "info", "never"}));
  CLI::Option* select_opt = scan->add_option(
      "--select", select, "only these rules: names, codes, code prefixes (CKD5), families, ALL");
  CLI::Option* ignore_opt =
      scan->add_option("--ignore", ignore, "skip these rules (same forms as --select)");
  std::vector<std::string> engines;
  scan->add_option("--engine", engines,
                   "verdict per engine: vllm, sglang, transformers (default: all three)");
  CLI::Option* source_opt = scan->add_option(
      "--source", source, "the BF16 source checkpoint (headers only) for key diffs");
  std::string config_file, progress = "auto";
  bool no_config = false, silent = false;
  scan->add_option("--config", config_file,
                   "project settings (default: DIR/ckptdoctor.json when it exists)");
  scan->add_flag("--no-config", no_config, "ignore DIR/ckptdoctor.json");
  scan->add_option("--progress", progress, "progress on stderr for --deep (auto: on a terminal)")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  scan->add_flag("-s,--silent", silent,
                 "print nothing, errors included: the exit code is the answer (2: could not run)");
  scan->add_flag("--deep", deep, "read all tensor data: NaN/Inf and all-zero weights");
  scan->add_option("--threads", threads, "worker threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  scan->add_option("--rules", extra_rules, "add rules from a JSON file");
  scan->add_option("--color", color, "colour text output")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  scan->add_flag("-q,--quiet", quiet, "print findings only");
  ckd::HttpSettings http;
  scan->add_option("--timeout", http.stall_timeout_s,
                   "remote scans: give up on a transfer stalled this many seconds (default 30)")
      ->check(CLI::Range(1.0, 3600.0));
  scan->add_option("--deadline", http.deadline_s,
                   "remote scans: give up on a request (retries included) after this many seconds "
                   "(default: 60 plus 1 per 256 KiB requested)")
      ->check(CLI::Range(1.0, 86400.0));
  scan->add_option("--retries", http.retries,
                   "remote scans: extra attempts after a timeout, 429 or 5xx (default 2)")
      ->check(CLI::Range(0, 10));

  std::string rule_name, rules_format = "text";
  CLI::App* rules = app.add_subcommand("rules", "List the rules, or explain one");
  rules->add_option("NAME", rule_name, "rule name or code");
  rules->add_option("--format", rules_format, "output format")
      ->check(CLI::IsMember({"text", "json"}));
  rules->add_option("--rules", extra_rules, "add rules from a JSON file");

  FixArgs fix_args;
  add_fix_command(app, fix_args);
  CompareArgs compare_args;
  add_compare_command(app, compare_args);

  std::string shell;
  CLI::App* completions =
      app.add_subcommand("completions", "Print a shell completion script (bash, zsh, fish)");
  completions->add_option("SHELL", shell, "the shell")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  CLI::App* man = app.add_subcommand("man", "Print the man page (roff), made from this help");

  if (std::string error = unknown_command_error(app, argc, argv); !error.empty()) {
    std::cerr << "ckptdoctor: error: " << error << "\n";
    return kExitError;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // scan -s prints nothing at all, a usage error included (the flag is looked for by hand:
    // the parse that would set it just failed).
    bool silent_scan = argc > 1 && std::string_view(argv[1]) == "scan" &&
                       std::any_of(argv + 2, argv + argc, [](const char* a) {
                         return std::string_view(a) == "-s" || std::string_view(a) == "--silent";
                       });
    if (silent_scan && e.get_exit_code() != 0) return kExitError;
    int code = app.exit(e);
    return code == 0 ? kExitClean : kExitError;
  }

  try {
    if (rules->parsed()) return run_rules_command(rule_name, rules_format, extra_rules);
    if (app.got_subcommand("fix")) return run_fix_command(fix_args);
    if (app.got_subcommand("compare")) return run_compare_command(compare_args);
    if (completions->parsed()) {
      std::cout << ckd::shell_completion(app, shell);
      return kExitClean;
    }
    if (man->parsed()) {
      std::cout << ckd::man_page(app, fmt::format("ckptdoctor {}", ckd::ckptdoctor_version()));
      return kExitClean;
    }

    // Project settings apply first; options given on the command line win over them.
    std::optional<ckd::ProjectConfig> config;
    if (!config_file.empty()) {
      config = ckd::load_project_config(config_file);
    } else if (!no_config && !ckd::is_remote_location(dir)) {
      if (auto found = ckd::find_project_config(dir)) config = ckd::load_project_config(*found);
    }
    std::vector<std::string> rule_files = config ? config->rule_files : std::vector<std::string>{};
    rule_files.insert(rule_files.end(), extra_rules.begin(), extra_rules.end());
    ckd::RuleSet rule_set = load_rules(rule_files);
    if (config) {
      ckd::apply_project_config(*config, rule_set);
      if (!select_opt->count()) select = config->select;
      if (!ignore_opt->count()) ignore = config->ignore;
      if (!fail_on_opt->count() && config->fail_on) fail_on = *config->fail_on;
      if (!source_opt->count() && config->source) source = *config->source;
    }
    ckd::ScanRequest request;
    request.dir = dir;
    request.source_dir = source;
    request.options.deep = deep;
    request.options.threads = threads;
    request.http = http;
    request.options.progress =
        deep && !silent &&
        (progress == "always" || (progress == "auto" && ::isatty(STDERR_FILENO)));
    request.rules = ckd::select_rules(rule_set, split_commas(select), split_commas(ignore));
    if (!engines.empty()) request.engines = ckd::select_engines(split_commas(engines));
    request.fail_on = fail_on == "never" ? std::nullopt : ckd::parse_severity(fail_on);
    ckd::ScanReport report = ckd::run_scan(request);
    if (silent) std::_Exit(report.failed ? kExitFindings : kExitClean);
    std::ofstream file;
    if (!output_file.empty()) {
      file.open(output_file, std::ios::binary | std::ios::trunc);
      if (!file) throw ckd::IoError(fmt::format("{}: cannot write the report", output_file));
    }
    std::ostream& out = output_file.empty() ? std::cout : file;
    if (format == "json") {
      ckd::write_json_report(out, report);
    } else if (format == "sarif") {
      ckd::write_sarif_report(out, report);
    } else if (format == "junit") {
      ckd::write_junit_report(out, report);
    } else if (format == "gitlab") {
      ckd::write_gitlab_report(out, report);
    } else if (format == "github") {
      ckd::write_github_report(out, report);
      if (const char* summary = std::getenv("GITHUB_STEP_SUMMARY"); summary && *summary) {
        std::ofstream step(summary, std::ios::binary | std::ios::app);
        step << ckd::github_step_summary(report);
        if (!step) std::cerr << fmt::format("ckptdoctor: warning: cannot append to {}\n", summary);
      }
    } else {
      bool color_on = output_file.empty() && use_color(color);
      size_t width = output_file.empty() ? terminal_width() : 0;
      ckd::write_text_report(out, report, ckd::TextStyle{color_on, quiet, width});
    }
    out.flush();
    if (!out)
      throw ckd::IoError(fmt::format("{}: writing the report failed",
                                     output_file.empty() ? "stdout" : output_file));
    // Freeing a 60k-tensor checkpoint's tables costs more than the OS reclaiming them at exit.
    std::_Exit(report.failed ? kExitFindings : kExitClean);
  } catch (const CLI::ParseError& e) {
    if (!(silent && scan->parsed())) std::cerr << "ckptdoctor: error: " << e.what() << "\n";
    return kExitError;
  } catch (const std::exception& e) {
    // scan -s prints nothing at all: exit code 2 is the whole answer (README: exit codes).
    if (!(silent && scan->parsed())) std::cerr << "ckptdoctor: error: " << e.what() << "\n";
    return kExitError;
  }
}

// ckptdoctor: verify quantized LLM checkpoints. Exit codes: 0 clean, 1 findings at or above
// --fail-on, 2 the tool could not run.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "io/byte_source.h"
#include "io/paths.h"
#include "report/json_report.h"
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ckptdoctor: verify and repair quantized LLM checkpoints (safetensors)"};
  app.set_version_flag("--version", "ckptdoctor 0.1.0");
  app.require_subcommand(1);

  std::string dir, source, format = "text", fail_on = "error", color = "auto";
  std::vector<std::string> select, ignore, extra_rules;
  bool deep = false, quiet = false;
  int threads = 0;
  CLI::App* scan = app.add_subcommand("scan", "Scan a checkpoint directory and report its defects");
  scan->add_option("DIR", dir, "checkpoint directory (config.json, *.safetensors, index)")
      ->required();
  scan->add_option("--format", format, "output format")->check(CLI::IsMember({"text", "json"}));
  scan->add_option("--fail-on", fail_on, "exit 1 when a finding is at or above this severity")
      ->check(CLI::IsMember({"error", "warning", "info", "never"}));
  scan->add_option("--select", select,
                   "only these rules: names, codes, code prefixes (CKD5), families, ALL");
  scan->add_option("--ignore", ignore, "skip these rules (same forms as --select)");
  scan->add_option("--source", source, "the BF16 source checkpoint (headers only) for key diffs");
  scan->add_flag("--deep", deep, "read all tensor data: NaN/Inf and all-zero weights");
  scan->add_option("--threads", threads, "worker threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  scan->add_option("--rules", extra_rules, "add rules from a JSON file");
  scan->add_option("--color", color, "colour text output")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  scan->add_flag("-q,--quiet", quiet, "print findings only");

  std::string rule_name, rules_format = "text";
  CLI::App* rules = app.add_subcommand("rules", "List the rules, or explain one");
  rules->add_option("NAME", rule_name, "rule name or code");
  rules->add_option("--format", rules_format, "output format")
      ->check(CLI::IsMember({"text", "json"}));
  rules->add_option("--rules", extra_rules, "add rules from a JSON file");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitClean : kExitError;
  }

  try {
    if (rules->parsed()) return run_rules_command(rule_name, rules_format, extra_rules);

    ckd::RuleSet rule_set = load_rules(extra_rules);
    ckd::ScanRequest request;
    request.dir = dir;
    request.source_dir = source;
    request.options.deep = deep;
    request.options.threads = threads;
    request.options.progress = deep && ::isatty(STDERR_FILENO);
    request.rules = ckd::select_rules(rule_set, split_commas(select), split_commas(ignore));
    request.fail_on = fail_on == "never" ? std::nullopt : ckd::parse_severity(fail_on);
    ckd::ScanReport report = ckd::run_scan(request);
    if (format == "json") {
      ckd::write_json_report(std::cout, report);
    } else {
      ckd::write_text_report(std::cout, report, ckd::TextStyle{use_color(color), quiet});
    }
    std::cout.flush();
    // Freeing a 60k-tensor checkpoint's tables costs more than the OS reclaiming them at exit.
    std::_Exit(report.failed ? kExitFindings : kExitClean);
  } catch (const std::exception& e) {
    std::cerr << "ckptdoctor: error: " << e.what() << "\n";
    return kExitError;
  }
}

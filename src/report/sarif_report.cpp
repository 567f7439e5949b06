#include "report/sarif_report.h"

#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "report/ci_common.h"
#include "rules/rule_set.h"

namespace ckd {
namespace {

const char* sarif_level(Severity s) {
  return s == Severity::kError ? "error" : s == Severity::kWarning ? "warning" : "note";
}

nlohmann::ordered_json rule_descriptor(const Rule& r) {
  std::string markdown = fmt::format("**{}** ({})\n\n{}", r.name, r.code, r.docs.summary);
  if (!r.docs.why.empty()) markdown += "\n\n**Why is this bad?** " + r.docs.why;
  if (!r.docs.example.empty()) markdown += "\n\n**Example:** " + r.docs.example;
  if (!r.docs.fix.empty()) markdown += "\n\n**Fix:** " + r.docs.fix;
  return {
      {"id", r.code},
      {"name", r.name},
      {"shortDescription", {{"text", r.docs.summary}}},
      {"fullDescription", {{"text", r.docs.why.empty() ? r.docs.summary : r.docs.why}}},
      {"help",
       {{"text", r.docs.fix.empty() ? r.docs.summary : r.docs.fix}, {"markdown", markdown}}},
      {"defaultConfiguration", {{"level", sarif_level(r.severity)}}},
      {"properties",
       {{"tags", {r.family, fmt::format("fix:{}", fix_applicability_name(r.fix))}},
        {"precision", "very-high"},
        {"problem.severity",
         r.severity == Severity::kInfo ? "recommendation" : sarif_level(r.severity)}}},
  };
}

}  // namespace

void write_sarif_report(std::ostream& out, const ScanReport& report) {
  nlohmann::ordered_json rules = nlohmann::ordered_json::array();
  std::map<std::string, size_t> rule_index;
  for (const Rule* r : report.rules) {
    if (rule_index.emplace(r->code, rules.size()).second) rules.push_back(rule_descriptor(*r));
  }
  FindingLocator locate(report);
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  // What is not a result: notes for findings a capped check did not list (execution), and the
  // selected rules these options did not run (configuration; they are not in `rules`, so no
  // consumer reads them as passing).
  nlohmann::ordered_json truncated = nlohmann::ordered_json::array();
  nlohmann::ordered_json not_run = nlohmann::ordered_json::array();
  auto rule_reference = [&](const std::string& code) {
    nlohmann::ordered_json ref = {{"id", code}};
    if (auto it = rule_index.find(code); it != rule_index.end()) ref["index"] = it->second;
    return ref;
  };
  for (const auto& [rule, reason] : report.not_run) {
    not_run.push_back({
        {"descriptor", {{"id", "rule-not-run"}}},
        {"associatedRule", {{"id", rule->code}}},
        {"level", "note"},
        {"message", {{"text", fmt::format("{} {} did not run: it {}", rule->code, rule->name,
                                          reason)}}},
    });
  }
  std::map<std::string, int> occurrences;  // "hash:N", N counting equal hashes (GitHub's form)
  for (const Finding& f : report.findings) {
    if (f.omitted) {
      truncated.push_back({
          {"descriptor", {{"id", "results-truncated"}}},
          {"associatedRule", rule_reference(f.code)},
          {"level", sarif_level(f.severity)},
          {"message", {{"text", fmt::format("{} {}: {} more findings are not listed as results "
                                            "({}); they count toward the exit code",
                                            f.code, f.name, f.omitted, f.message)}}},
      });
      continue;
    }
    std::string path = locate.path(f);
    std::string hash = finding_fingerprint(f, path);
    int occurrence = ++occurrences[hash];
    std::string text = f.tensor.empty() ? f.message : fmt::format("{}: {}", f.tensor, f.message);
    nlohmann::ordered_json location = {
        {"physicalLocation",
         {{"artifactLocation", {{"uri", path}}},
          {"region", {{"startLine", locate.line(f)}, {"startColumn", 1}, {"endColumn", 2}}}}}};
    if (!f.tensor.empty())
      location["logicalLocations"] = {{{"fullyQualifiedName", f.tensor}, {"kind", "member"}}};
    nlohmann::ordered_json result = {
        {"ruleId", f.code},
        {"level", sarif_level(f.severity)},
        {"message", {{"text", text}}},
        {"locations", {location}},
        {"partialFingerprints",
         {{"primaryLocationLineHash", fmt::format("{}:{}", hash, occurrence)}}},
    };
    auto it = rule_index.find(f.code);
    if (it != rule_index.end()) result["ruleIndex"] = it->second;
    results.push_back(std::move(result));
  }
  nlohmann::ordered_json invocation = {{"executionSuccessful", true}};
  if (!truncated.empty()) invocation["toolExecutionNotifications"] = truncated;
  if (!not_run.empty()) invocation["toolConfigurationNotifications"] = not_run;
  nlohmann::ordered_json log = {
      {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
      {"version", "2.1.0"},
      {"runs",
       {{{"tool",
          {{"driver",
            {{"name", "ckptdoctor"},
             {"semanticVersion", ckptdoctor_version()},
             {"rules", rules}}}}},
         {"invocations", nlohmann::ordered_json::array({invocation})},
         {"results", results}}}},
  };
  out << log.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
}

}  // namespace ckd

// The CI formats against their consumers' rules: escaping, unique names, stable fingerprints,
// the GitHub annotation cap, hostile names from the checkpoint. (tests/report_formats_check.py
// parses the same formats with third-party readers.)
#include <sstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "report/ci_common.h"
#include "report/github_report.h"
#include "report/gitlab_report.h"
#include "report/junit_report.h"
#include "report/sarif_report.h"
#include "rules/rule_set.h"

namespace {

const ckd::RuleSet& rules() {
  static const ckd::RuleSet r = ckd::RuleSet::builtin();
  return r;
}

ckd::Finding finding(const std::string& rule, const std::string& file, const std::string& tensor,
                     const std::string& message) {
  const ckd::Rule* r = rules().find(rule);
  REQUIRE(r);
  return {r->code, r->name, r->severity, file, tensor, message};
}

ckd::ScanReport report_of(std::vector<ckd::Finding> findings) {
  ckd::ScanReport report;
  report.dir = "models/demo";
  for (const auto& r : rules().rules()) report.rules.push_back(&r);
  report.findings = std::move(findings);
  for (const auto& f : report.findings) report.errors += f.severity == ckd::Severity::kError;
  report.fail_on = ckd::Severity::kError;
  report.failed = report.errors > 0;
  return report;
}

template <typename Writer>
std::string render(Writer write, const ckd::ScanReport& report) {
  std::ostringstream out;
  write(out, report);
  return out.str();
}

size_t count_lines_starting(const std::string& text, const std::string& prefix) {
  size_t n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) n += line.starts_with(prefix);
  return n;
}

}  // namespace

TEST_CASE("GitHub workflow-command escaping follows actions/toolkit") {
  CHECK(ckd::github_escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext");
  CHECK(ckd::github_escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A");
  CHECK(ckd::github_escape_data("a:b,c") == "a:b,c");  // data keeps : and ,
}

TEST_CASE("GitHub annotations: grouped per rule and file, never past the per-step cap") {
  // 3 findings of one rule in one file: one annotation with the count.
  std::vector<ckd::Finding> fs;
  for (int i = 0; i < 3; ++i)
    fs.push_back(
        finding("missing-weight-scale", "model.safetensors", "t" + std::to_string(i), "m"));
  std::string out = render(ckd::write_github_report, report_of(fs));
  CHECK(count_lines_starting(out, "::error ") == 1);
  CHECK(out.find("(3 findings)") != std::string::npos);
  CHECK(out.find("file=models/demo/model.safetensors,line=1,") != std::string::npos);

  // 14 error rules in 2 files: per rule, then 9 annotations and one naming the rest.
  std::vector<ckd::Finding> many;
  int n = 0;
  for (const auto& r : rules().rules()) {
    if (r.severity != ckd::Severity::kError || n >= 14) continue;
    ++n;
    for (const char* file : {"a.safetensors", "b.safetensors"})
      many.push_back(finding(r.name, file, "x", "message"));
  }
  REQUIRE(n == 14);
  out = render(ckd::write_github_report, report_of(many));
  CHECK(count_lines_starting(out, "::error ") == 10);
  CHECK(out.find("5 more rules") != std::string::npos);

  // Hostile tensor names cannot inject a second command or newline.
  auto hostile = report_of(
      {finding("missing-weight-scale", "model.safetensors", "x\n::error file=evil::pwned,y", "m")});
  out = render(ckd::write_github_report, hostile);
  CHECK(count_lines_starting(out, "::") == 1);
}

TEST_CASE("GitHub step summary: a Markdown table with escaped cells, capped") {
  auto report = report_of({finding("missing-weight-scale", "model.safetensors", "a|b", "m")});
  std::string md = ckd::github_step_summary(report);
  CHECK(md.find("| severity | rule | file | tensor | message |") != std::string::npos);
  CHECK(md.find("a\\|b") != std::string::npos);
  std::vector<ckd::Finding> lots(20000, finding("missing-weight-scale", "model.safetensors",
                                                std::string(60, 't'), std::string(60, 'm')));
  md = ckd::github_step_summary(report_of(lots));
  CHECK(md.size() < 1024 * 1024);
  CHECK(md.find("more findings are not shown") != std::string::npos);
}

TEST_CASE("JUnit: unique testcase names, escaped text, passing rules listed") {
  auto report =
      report_of({finding("missing-weight-scale", "model.safetensors", "t", "first <&>"),
                 finding("missing-weight-scale", "model.safetensors", "t", "second"),
                 finding("missing-weight-scale", "model.safetensors", "bad\x01\xff\"", "third")});
  std::string xml = render(ckd::write_junit_report, report);
  CHECK(xml.find("name=\"CKD303 missing-weight-scale: t\"") != std::string::npos);
  CHECK(xml.find("name=\"CKD303 missing-weight-scale: t #2\"") != std::string::npos);
  CHECK(xml.find("first &lt;&amp;&gt;") != std::string::npos);
  CHECK(xml.find("bad\\x01\\xff&quot;") != std::string::npos);
  CHECK(xml.find('\x01') == std::string::npos);
  CHECK(xml.find("name=\"CKD101 invalid-header\"/>") != std::string::npos);  // passed
  CHECK(xml.find("failures=\"3\"") != std::string::npos);
}

TEST_CASE("SARIF: rules with docs, located results, GitHub-style fingerprints") {
  auto report = report_of(
      {finding("index-tensor-mismatch", "model.safetensors.index.json", "model.norm.weight", "m"),
       finding("repeated-prefix", "model.safetensors", "x", "m"),
       finding("repeated-prefix", "model.safetensors", "x", "m again")});
  auto doc = nlohmann::json::parse(render(ckd::write_sarif_report, report));
  CHECK(doc["version"] == "2.1.0");
  const auto& run = doc["runs"][0];
  CHECK(run["tool"]["driver"]["rules"].size() == rules().rules().size());
  const auto& results = run["results"];
  REQUIRE(results.size() == 3);
  CHECK(results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] ==
        "models/demo/model.safetensors.index.json");
  std::string h1 = results[1]["partialFingerprints"]["primaryLocationLineHash"];
  std::string h2 = results[2]["partialFingerprints"]["primaryLocationLineHash"];
  CHECK(h1.ends_with(":1"));
  CHECK(h2.ends_with(":2"));
  CHECK(h1.substr(0, 16) == h2.substr(0, 16));
  for (const auto& r : results) {
    CHECK(run["tool"]["driver"]["rules"][r["ruleIndex"].get<size_t>()]["id"] == r["ruleId"]);
  }
}

TEST_CASE("fingerprints are stable and distinguish rule, file and tensor") {
  auto a = finding("repeated-prefix", "a.safetensors", "x", "m");
  auto b = a;
  b.message = "another message";  // messages may change between runs; the fingerprint does not
  CHECK(ckd::finding_fingerprint(a, "p") == ckd::finding_fingerprint(b, "p"));
  // Pinned (FNV-1a 64 of code, path, tensor, each followed by 0xff; computed in Python): CI
  // systems de-duplicate alerts across runs by it, so it must never change by accident.
  CHECK(ckd::finding_fingerprint(a, "p") == "f437d43fde05ce94");
  auto c = a;
  c.tensor = "y";
  CHECK(ckd::finding_fingerprint(a, "p") != ckd::finding_fingerprint(c, "p"));
  CHECK(ckd::finding_fingerprint(a, "p") != ckd::finding_fingerprint(a, "q"));
}

TEST_CASE("GitLab Code Quality: unique fingerprints, GitLab severities") {
  auto report = report_of({finding("repeated-prefix", "m.safetensors", "x", "m"),
                           finding("repeated-prefix", "m.safetensors", "x", "m2"),
                           finding("index-total-size", "model.safetensors.index.json", "", "w")});
  auto issues = nlohmann::json::parse(render(ckd::write_gitlab_report, report));
  REQUIRE(issues.size() == 3);
  CHECK(issues[0]["fingerprint"] != issues[1]["fingerprint"]);
  CHECK(issues[0]["severity"] == "critical");
  CHECK(issues[2]["severity"] == "major");
  CHECK(issues[2]["location"]["path"] == "models/demo/model.safetensors.index.json");
}

// compare as a gate in the scan's formats: which verdicts become findings, at which severity.
#include <doctest/doctest.h>

#include "report/compare_findings.h"
#include "rules/rule_set.h"

namespace {

ckd::ModuleError module(const std::string& name, bool passed) {
  ckd::ModuleError m;
  m.module = name;
  m.format = "nvfp4";
  m.rel_error = passed ? 0.09 : 1.4;
  m.limit = 0.25;
  m.passed = passed;
  return m;
}

}  // namespace

TEST_CASE("compare_findings: failures at the rule's severity, undecoded always errors") {
  ckd::RuleSet rules = ckd::RuleSet::builtin();
  ckd::Rule rule = *rules.find("roundtrip-error");
  ckd::CompareReport c;
  c.quant_dir = "q";
  c.tensors = {module("a", false), module("b", true)};
  c.undecodable = {{"c", "shard truncated"}};
  c.unpaired = {{"d", "no source tensor"}};
  ckd::ScanReport r = ckd::compare_findings(c, rule, ckd::Severity::kError);
  REQUIRE(r.findings.size() == 3);  // the passing module is not a finding
  CHECK(r.findings[0].severity == ckd::Severity::kError);
  CHECK(r.errors == 2);
  CHECK(r.infos == 1);
  CHECK(r.failed);
  CHECK(r.findings.back().tensor == "d");

  rule.severity = ckd::Severity::kWarning;  // a project that only warns on the limit
  c.undecodable.clear();
  r = ckd::compare_findings(c, rule, ckd::Severity::kError);
  CHECK(r.warnings == 1);
  CHECK_FALSE(r.failed);
  r = ckd::compare_findings(c, rule, ckd::Severity::kWarning);
  CHECK(r.failed);

  c.tensors.clear();  // nothing measured: never a pass
  r = ckd::compare_findings(c, rule, ckd::Severity::kError);
  CHECK(r.errors == 1);
  CHECK(r.failed);
  r = ckd::compare_findings(c, rule, std::nullopt);  // --fail-on never
  CHECK_FALSE(r.failed);
}

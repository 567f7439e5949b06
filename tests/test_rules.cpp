// Rule data: tensor selectors, validation of rule files, and selection by name/code/family.
#include <doctest/doctest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "fixture/fixture.h"
#include "rules/engine.h"
#include "scan/scan.h"
#include "test_util.h"

TEST_CASE("a rule's tensor selectors filter its findings") {
  std::string specs = std::string(CKD_SOURCE_DIR) + "/fixtures/specs";
  std::ifstream in(specs + "/non-finite-scales.json");
  auto spec = ckd::fixture::resolve_spec(nlohmann::json::parse(in), specs);
  ckd_test::TempDir tmp;
  ckd::fixture::build_checkpoint(spec, tmp.path() + "/ck");

  ckd::RuleSet rules;
  rules.add_json(R"({"rules": [
    {"code": "CKD591", "name": "nan-block-scales", "check": "scale-values", "tier": "scales",
     "params": {"mode": "non-finite"}, "severity": "error",
     "tensors": {"exclude": ["input_global_scale$"]}, "docs": {"summary": "block scales only"}},
    {"code": "CKD592", "name": "nan-input-scales", "check": "scale-values", "tier": "scales",
     "params": {"mode": "non-finite"}, "severity": "warning",
     "tensors": {"include": ["\\.input_global_scale$"]}, "docs": {"summary": "input scales only"}}]})",
                 "test");
  ckd::ScanRequest request;
  request.dir = tmp.path() + "/ck";
  request.rules = ckd::select_rules(rules, {}, {});
  auto report = ckd::run_scan(request);
  REQUIRE(report.findings.size() == 2);
  CHECK(report.findings[0].name == "nan-block-scales");
  CHECK(report.findings[0].tensor == "model.layers.0.self_attn.k_proj.weight_scale");
  CHECK(report.findings[1].name == "nan-input-scales");
  CHECK(report.findings[1].tensor == "model.layers.1.mlp.experts.2.down_proj.input_global_scale");
  CHECK(report.findings[1].severity == ckd::Severity::kWarning);
}

TEST_CASE("rule files are validated") {
  ckd::RuleSet rules = ckd::RuleSet::builtin();
  auto bad = [&](const std::string& rule) {
    ckd::RuleSet copy = rules;
    return copy.add_json("{\"rules\": [" + rule + "]}", "bad.json");
  };
  const std::string docs = R"("docs": {"summary": "s"})";
  CHECK_THROWS_WITH_AS(
      bad(R"({"code": "CKD101", "name": "again", "check": "shard-set", "severity": "error", )" +
          docs + "}"),
      doctest::Contains("already defined"), std::runtime_error);
  CHECK_THROWS_WITH_AS(
      bad(R"({"code": "CKD791", "name": "x", "check": "no-such-check", "severity": "error", )" +
          docs + "}"),
      doctest::Contains("unknown check kind"), std::runtime_error);
  CHECK_THROWS_WITH_AS(
      bad(R"({"code": "ABC123", "name": "x", "check": "shard-set", "severity": "error", )" + docs +
          "}"),
      doctest::Contains("bad code"), std::runtime_error);
  CHECK_THROWS_WITH_AS(
      bad(R"({"code": "CKD792", "name": "Bad_Name", "check": "shard-set", "severity": "error", )" +
          docs + "}"),
      doctest::Contains("bad name"), std::runtime_error);
  CHECK_THROWS_WITH_AS(
      bad(R"({"code": "CKD793", "name": "x", "check": "shard-set", "severity": "fatal", )" + docs +
          "}"),
      doctest::Contains("severity"), std::runtime_error);
  CHECK_THROWS_WITH_AS(
      bad(R"({"code": "CKD794", "name": "x", "check": "shard-set", "severity": "error",
                              "tensors": {"include": ["("]}, )" +
          docs + "}"),
      doctest::Contains("bad regex"), std::runtime_error);
}

TEST_CASE("every built-in rule has a unique code and name, docs, and a known family") {
  ckd::RuleSet rules = ckd::RuleSet::builtin();
  CHECK(rules.rules().size() >= 39);
  for (const auto& r : rules.rules()) {
    CAPTURE(r.name);
    CHECK(!r.family.empty());
    CHECK(!r.docs.summary.empty());
    CHECK(!r.docs.why.empty());
    CHECK(!r.docs.fix.empty());
  }
  auto by_family = ckd::select_rules(rules, {"scales"}, {"CKD505"});
  for (const auto* r : by_family) CHECK(r->family == "scales");
  CHECK(std::none_of(by_family.begin(), by_family.end(),
                     [](const ckd::Rule* r) { return r->code == "CKD505"; }));
  CHECK_THROWS_WITH_AS(ckd::select_rules(rules, {"scale"}, {}),
                       doctest::Contains("did you mean scales?"), std::runtime_error);
}

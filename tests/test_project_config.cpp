// ckptdoctor.json: settings apply, and every typo is an error with a suggestion.
#include <fstream>

#include <doctest/doctest.h>

#include "config/project_config.h"
#include "test_util.h"

namespace {

std::string write_config(const ckd_test::TempDir& dir, const std::string& text) {
  std::string path = dir.path() + "/ckptdoctor.json";
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("project config: keys parse, paths resolve against the file, overrides apply") {
  ckd_test::TempDir tmp;
  std::string path = write_config(tmp, R"({
    "select": ["ALL"], "ignore": "fused-scale-mismatch", "fail_on": "warning",
    "severity": {"index-total-size": "error", "CKD307": "info"},
    "params": {"fused-scale-mismatch": {"relative_tolerance": 0.01}},
    "source": "../bf16", "rules": ["site.json"]})");
  ckd::ProjectConfig c = ckd::load_project_config(path);
  CHECK(c.select == std::vector<std::string>{"ALL"});
  CHECK(c.ignore == std::vector<std::string>{"fused-scale-mismatch"});
  CHECK(c.fail_on == "warning");
  CHECK(*c.source == (std::filesystem::path(tmp.path()).parent_path() / "bf16").string());
  CHECK(c.rule_files.front() == tmp.path() + "/site.json");
  CHECK(ckd::find_project_config(tmp.path()) == path);

  ckd::RuleSet rules = ckd::RuleSet::builtin();
  ckd::apply_project_config(c, rules);
  CHECK(rules.find("index-total-size")->severity == ckd::Severity::kError);
  CHECK(rules.find("unmatched-ignore-pattern")->severity == ckd::Severity::kInfo);
  CHECK(rules.find("fused-scale-mismatch")->params["relative_tolerance"] == 0.01);
  // Control: rules the config does not name keep their defaults.
  CHECK(rules.find("repeated-prefix")->severity == ckd::RuleSet::builtin().find("repeated-prefix")->severity);
}

TEST_CASE("project config: unknown keys, rules, options and values are errors with suggestions") {
  ckd_test::TempDir tmp;
  auto error_of = [&](const std::string& text) {
    std::string path = write_config(tmp, text);
    try {
      ckd::ProjectConfig c = ckd::load_project_config(path);
      ckd::RuleSet rules = ckd::RuleSet::builtin();
      ckd::apply_project_config(c, rules);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(error_of(R"({"ignroe": []})").find("did you mean \"ignore\"") != std::string::npos);
  CHECK(error_of(R"({"severity": {"repeated-prefx": "error"}})")
            .find("did you mean \"repeated-prefix\"") != std::string::npos);
  CHECK(error_of(R"({"params": {"fused-scale-mismatch": {"relative_tolerence": 1}}})")
            .find("did you mean \"relative_tolerance\"") != std::string::npos);
  CHECK(error_of(R"({"severity": {"repeated-prefix": "fatal"}})").find("error, warning or info") !=
        std::string::npos);
  CHECK(error_of(R"({"fail_on": "sometimes"})").find("never") != std::string::npos);
  CHECK(error_of(R"([1, 2])").find("JSON object") != std::string::npos);
  CHECK(error_of(R"({"select": [1]})").find("strings") != std::string::npos);
  CHECK(error_of("{not json").find("not valid JSON") != std::string::npos);
  CHECK(error_of(R"({"select": ["ALL"]})").empty());  // control
}

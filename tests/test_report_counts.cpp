// Issue 10 items 8-10 and the report defects: counts are findings (a capped check's "... and N
// more" note counts N, never 1), machine formats never turn that note into a result without a
// file, rules that did not run are never listed as passing, a checkpoint without weights fails,
// and the text/GitHub output details (plurals, wrapping, Markdown escaping, index lines).
#include <fstream>
#include <set>
#include <sstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "fixture/fixture.h"
#include "report/ci_common.h"
#include "report/github_report.h"
#include "report/gitlab_report.h"
#include "report/json_report.h"
#include "report/junit_report.h"
#include "report/sarif_report.h"
#include "report/text_report.h"
#include "report/text_style.h"
#include "test_util.h"

using nlohmann::json;

namespace {

// base-fp8-block with `bad` of its 32 weight_scale_inv tensors negative (non-positive-scale
// lists 25, then one note for the rest).
std::string build_bad_scales(const ckd_test::TempDir& tmp, const std::string& pattern) {
  std::string spec_dir = std::string(CKD_SOURCE_DIR) + "/fixtures/specs";
  json spec = {{"base", "base-fp8-block"}, {"set", {{pattern, {{"fill", -0.0003}}}}}};
  std::string dir = tmp.path() + "/ck";
  ckd::fixture::build_checkpoint(ckd::fixture::resolve_spec(spec, spec_dir), dir);
  return dir;
}

template <typename Writer>
std::string render(Writer write, const ckd::ScanReport& report) {
  std::ostringstream out;
  write(out, report);
  return out.str();
}

size_t count_of_code(const ckd::ScanReport& r, const std::string& code) {
  size_t n = 0;
  for (const auto& f : r.findings) n += f.code == code ? f.count() : 0;
  return n;
}

}  // namespace

TEST_CASE("counts are findings: 32 negative scales are 32 errors, 25 listed and a note for 7") {
  ckd_test::TempDir tmp;
  auto report = ckd_test::scan_all_rules(build_bad_scales(tmp, "model\\.layers\\..*weight_scale_inv"));
  CHECK(report.errors == 32);
  CHECK(count_of_code(report, "CKD503") == 32);
  size_t listed = 0, notes = 0;
  for (const auto& f : report.findings) {
    if (f.code != "CKD503") continue;
    listed += f.omitted == 0;
    notes += f.omitted != 0;
    if (f.omitted) CHECK(f.omitted == 7);
  }
  CHECK(listed == 25);
  CHECK(notes == 1);

  std::string text = render(
      [](std::ostream& o, const ckd::ScanReport& r) { ckd::write_text_report(o, r, {}); }, report);
  CHECK(text.find("(CKD503) x32") != std::string::npos);
  CHECK(text.find("32 errors") != std::string::npos);

  json doc = json::parse(render(ckd::write_json_report, report));
  CHECK(doc["summary"]["errors"] == 32);
  CHECK(doc["findings"].size() == 25);
  REQUIRE(doc["truncated"].size() == 1);
  CHECK(doc["truncated"][0]["omitted"] == 7);

  // SARIF: 25 results, each at its shard; the rest is a tool-execution notification.
  json sarif = json::parse(render(ckd::write_sarif_report, report));
  const json& run = sarif["runs"][0];
  CHECK(run["results"].size() == 25);
  for (const auto& r : run["results"]) {
    std::string uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
    CHECK(uri.ends_with(".safetensors"));
    CHECK(r["message"]["text"].get<std::string>().find("... and") == std::string::npos);
  }
  const json& notes_json = run["invocations"][0]["toolExecutionNotifications"];
  REQUIRE(notes_json.size() == 1);
  CHECK(notes_json[0]["associatedRule"]["id"] == "CKD503");
  CHECK(notes_json[0]["message"]["text"].get<std::string>().find("7 more") != std::string::npos);

  // GitLab: one issue per listed finding; the last of the rule says how many more.
  json gitlab = json::parse(render(ckd::write_gitlab_report, report));
  CHECK(gitlab.size() == 25);
  size_t mentions = 0;
  for (const auto& i : gitlab) {
    CHECK(i["location"]["path"].get<std::string>().ends_with(".safetensors"));
    mentions += i["description"].get<std::string>().find("and 7 more CKD503") != std::string::npos;
  }
  CHECK(mentions == 1);

  // JUnit: the note is a named testcase of the checkpoint's suite, not a case of config.json.
  std::string xml = render(ckd::write_junit_report, report);
  CHECK(xml.find("CKD503 non-positive-scale: 7 more findings not listed") != std::string::npos);
  CHECK(xml.find("config.json") == std::string::npos);

  // GitHub: the annotations (one per rule and file) count all 32 between them.
  std::string gh = render(ckd::write_github_report, report);
  size_t annotated = 0;
  std::istringstream lines(gh);
  for (std::string l; std::getline(lines, l);) {
    size_t at = l.find("CKD503 non-positive-scale (");
    if (l.starts_with("::error ") && at != std::string::npos)
      annotated += std::stoul(l.substr(at + std::string("CKD503 non-positive-scale (").size()));
  }
  CHECK(annotated == 32);
  CHECK(gh.find("32 errors, 0 warnings") != std::string::npos);
}

TEST_CASE("counts control: 4 negative scales, 4 errors, no note") {
  ckd_test::TempDir tmp;
  auto report = ckd_test::scan_all_rules(
      build_bad_scales(tmp, "model\\.layers\\.0\\.self_attn\\..*weight_scale_inv"));
  CHECK(report.errors == 4);
  for (const auto& f : report.findings) CHECK(f.omitted == 0);
  json doc = json::parse(render(ckd::write_json_report, report));
  CHECK(doc["findings"].size() == 4);
  CHECK(doc["truncated"].empty());
  json sarif = json::parse(render(ckd::write_sarif_report, report));
  CHECK(sarif["runs"][0]["results"].size() == 4);
  CHECK_FALSE(sarif["runs"][0]["invocations"][0].contains("toolExecutionNotifications"));
}

TEST_CASE("rules that did not run are not passes: --deep and --source rules") {
  ckd_test::TempDir tmp;
  std::string spec_dir = std::string(CKD_SOURCE_DIR) + "/fixtures/specs";
  std::string dir = tmp.path() + "/ck";
  ckd::fixture::build_checkpoint(
      ckd::fixture::resolve_spec(json{{"base", "base-fp8-block"}}, spec_dir), dir);
  auto names_of = [](const std::vector<const ckd::Rule*>& rules) {
    std::set<std::string> out;
    for (const auto* r : rules) out.insert(r->name);
    return out;
  };

  auto shallow = ckd_test::scan_all_rules(dir, false);
  std::set<std::string> not_run;
  for (const auto& n : shallow.not_run) not_run.insert(n.rule->name);
  CHECK(not_run == std::set<std::string>{"non-finite-weight", "all-zero-tensor",
                                         "missing-source-module", "unexpected-module",
                                         "key-prefix-mismatch"});
  auto ran = names_of(shallow.rules);
  CHECK(ran.count("non-finite-weight") == 0);
  CHECK(ran.count("missing-source-module") == 0);
  CHECK(ran.count("scale-shape-mismatch") == 1);

  json sarif = json::parse(render(ckd::write_sarif_report, shallow));
  std::set<std::string> listed;
  for (const auto& r : sarif["runs"][0]["tool"]["driver"]["rules"]) listed.insert(r["name"]);
  CHECK(listed.count("non-finite-weight") == 0);
  CHECK(listed.count("key-prefix-mismatch") == 0);
  CHECK(listed.count("scale-shape-mismatch") == 1);
  CHECK(sarif["runs"][0]["invocations"][0]["toolConfigurationNotifications"].size() == 5);

  std::string xml = render(ckd::write_junit_report, shallow);
  CHECK(xml.find("name=\"CKD601 non-finite-weight\">\n      <skipped message=\"did not run: it "
                 "reads tensor data: runs only with --deep\"/>") != std::string::npos);
  CHECK(xml.find("name=\"CKD601 non-finite-weight\"/>") == std::string::npos);  // not a pass
  CHECK(xml.find("skipped=\"5\"") != std::string::npos);

  // Control: with --deep and --source every rule runs, none is skipped.
  ckd::ScanRequest request;
  static const ckd::RuleSet rules = ckd::RuleSet::builtin();
  request.dir = dir;
  request.source_dir = dir;
  request.rules = ckd::select_rules(rules, {}, {});
  request.options.deep = true;
  auto full = ckd::run_scan(request);
  CHECK(full.not_run.empty());
  CHECK(names_of(full.rules).count("non-finite-weight") == 1);
  std::string full_xml = render(ckd::write_junit_report, full);
  CHECK(full_xml.find("<skipped") == std::string::npos);
  CHECK(full_xml.find("name=\"CKD601 non-finite-weight\"/>") != std::string::npos);
}

TEST_CASE("GitHub: an index-missing-shard finding points at the weight_map line naming the shard") {
  ckd_test::TempDir tmp;
  std::ofstream(tmp.path() + "/model.safetensors.index.json")
      << "{\n  \"metadata\": {\"total_size\": 8},\n  \"weight_map\": {\n"
         "    \"a.weight\": \"model-00001-of-00002.safetensors\",\n"
         "    \"b.weight\": \"model-00002-of-00002.safetensors\"\n  }\n}\n";
  ckd::ScanReport report;
  report.dir = tmp.path();
  ckd::FindingLocator locate(report);
  ckd::Finding missing{"CKD201", "index-missing-shard", ckd::Severity::kError,
                       "model.safetensors.index.json", "",
                       "weight_map names model-00002-of-00002.safetensors (1 tensor) but the "
                       "file does not exist; download it again"};
  CHECK(locate.line(missing) == 5);
  ckd::Finding grouped = missing;
  grouped.message =
      "4 shards named by weight_map do not exist (model-00001-of-00002.safetensors, x.safetensors,"
      " ...); download them again";
  CHECK(locate.line(grouped) == 4);
  // Controls: a tensor's key, and a finding about the index as a whole.
  ckd::Finding tensor = missing;
  tensor.tensor = "b.weight";
  CHECK(locate.line(tensor) == 5);
  ckd::Finding whole = missing;
  whole.message = "not valid JSON";
  CHECK(locate.line(whole) == 1);
}

TEST_CASE("GitHub step summary escapes Markdown, not only pipes") {
  ckd::ScanReport report;
  report.dir = "models/demo";
  report.files = 1;
  report.errors = 1;
  report.findings.push_back({"CKD108", "invalid-metadata", ckd::Severity::kError,
                             "model.safetensors", "w_*x*",
                             "__metadata__ has <b>no</b> [format](http://x) `key` a|b"});
  std::string md = ckd::github_step_summary(report);
  CHECK(md.find("\\_\\_metadata\\_\\_") != std::string::npos);
  CHECK(md.find("w\\_\\*x\\*") != std::string::npos);
  CHECK(md.find("\\<b\\>") != std::string::npos);
  CHECK(md.find("\\[format\\]") != std::string::npos);
  CHECK(md.find("\\`key\\`") != std::string::npos);
  CHECK(md.find("a\\|b") != std::string::npos);
  CHECK(md.find("1 error, 0 warnings") != std::string::npos);
  CHECK(md.find("in 1 file;") != std::string::npos);
  // Control: plain words and the table syntax itself are left alone.
  CHECK(md.find("| severity | rule | file | tensor | message |") != std::string::npos);
  CHECK(md.find("invalid-metadata") != std::string::npos);  // a rule name is not escaped
}

TEST_CASE("text output: singular counts, wrapping at the given width") {
  CHECK(ckd::count_of(1, "file") == "1 file");
  CHECK(ckd::count_of(2, "file") == "2 files");
  CHECK(ckd::count_of(0, "error") == "0 errors");
  CHECK(ckd::count_of(1, "info", "infos") == "1 info");

  std::string line = "  model.safetensors: model.layers.0.mlp.down_proj.weight: " +
                     std::string("the scale is negative and so on ") + "and on and on until it "
                     "runs well past a hundred columns of a terminal window";
  std::string wrapped = ckd::wrap_text(line, 60, 6);
  std::istringstream in(wrapped);
  size_t lines = 0;
  std::string rejoined;
  for (std::string l; std::getline(in, l); ++lines) {
    CHECK(l.size() <= 60);
    if (lines > 0) {
      CHECK(l.starts_with("      "));
      CHECK(l[6] != ' ');
      rejoined += ' ' + l.substr(6);
    } else {
      rejoined = l;
    }
  }
  CHECK(lines >= 3);
  CHECK(rejoined == line);  // broken only at spaces: no word split
  // Controls: no width, or a line that fits, is unchanged; a word longer than the width stays whole.
  CHECK(ckd::wrap_text(line, 0, 6) == line);
  CHECK(ckd::wrap_text("  short", 60, 6) == "  short");
  std::string word(80, 'x');
  CHECK(ckd::wrap_text("  a " + word, 40, 6) == "  a\n      " + word);
}

// Every fixture spec in fixtures/specs is built into a checkpoint, scanned with every rule, and
// held to its expectations. Every rule must fire in some fixture and stay silent in a control.
#include <doctest/doctest.h>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "fixture/fixture.h"
#include "rules/engine.h"
#include "scan/scan.h"
#include "test_util.h"

using nlohmann::json;

namespace {

std::vector<std::string> spec_files() {
  std::vector<std::string> out;
  std::string dir = std::string(CKD_SOURCE_DIR) + "/fixtures/specs";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".json") out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool count_matches(const json& expected, size_t actual) {
  if (expected.is_number_integer()) return actual == expected.get<size_t>();
  std::string s = expected.get<std::string>();
  if (s.rfind(">=", 0) == 0) return actual >= std::stoul(s.substr(2));
  return false;
}

}  // namespace

TEST_CASE("fixture specs: every rule fires where expected and nowhere else") {
  ckd::RuleSet rules = ckd::RuleSet::builtin();
  auto all_rules = ckd::select_rules(rules, {}, {});
  std::map<std::string, std::set<std::string>> fired_in, controlled_in;
  std::string spec_dir = std::string(CKD_SOURCE_DIR) + "/fixtures/specs";
  ckd_test::TempDir tmp;
  size_t specs = 0;
  const char* only_spec = std::getenv("CKD_SPEC");  // run one spec while debugging
  for (const std::string& path : spec_files()) {
    std::string name = std::filesystem::path(path).stem().string();
    if (only_spec && name != only_spec) continue;
    CAPTURE(name);
    std::ifstream in(path);
    json spec = ckd::fixture::resolve_spec(json::parse(in), spec_dir);
    std::string dir = tmp.path() + "/" + name;
    ckd::fixture::build_checkpoint(spec, dir);
    ckd::ScanRequest request;
    request.dir = dir;
    request.rules = all_rules;
    request.options.threads = 2;
    const json scan = spec.value("scan", json::object());
    request.options.deep = scan.value("deep", false);
    if (spec.contains("source")) {
      request.source_dir = dir + ".source";
      ckd::fixture::build_checkpoint(ckd::fixture::resolve_spec(spec["source"], spec_dir),
                                     request.source_dir);
    }
    ckd::ScanReport report = ckd::run_scan(request);
    std::map<std::string, size_t> counts;
    for (const auto& f : report.findings) ++counts[f.name];

    const json expect = spec.value("expect", json::object());
    for (const auto& [rule, count] : expect.items()) {
      CAPTURE(rule);
      REQUIRE_MESSAGE(rules.find(rule) != nullptr, "unknown rule in spec");
      CHECK_MESSAGE(count_matches(count, counts[rule]), "expected ", count.dump(),
                    " findings, got ", counts[rule]);
      if (counts[rule] > 0) fired_in[rule].insert(name);
    }
    bool only = spec.value("only", false);
    for (const auto& [rule, count] : counts) {
      if (only && !expect.contains(rule)) {
        std::string messages;
        for (const auto& f : report.findings) {
          if (f.name == rule) messages += "\n  " + f.file + ": " + f.tensor + ": " + f.message;
        }
        FAIL_CHECK("unexpected ", rule, " findings:", messages);
      }
    }
    for (const auto& rule : spec.value("clean", json::array())) {
      CHECK_MESSAGE(counts[rule.get<std::string>()] == 0, rule.get<std::string>(),
                    " fired in a control");
      controlled_in[rule.get<std::string>()].insert(name);
    }
    if (only) {
      for (const auto& r : rules.rules()) {
        if (!expect.contains(r.name)) controlled_in[r.name].insert(name);
      }
    }
    const json messages = spec.value("messages", json::object());
    for (const auto& [rule, substrings] : messages.items()) {
      for (const auto& sub : substrings) {
        bool found =
            std::any_of(report.findings.begin(), report.findings.end(), [&](const ckd::Finding& f) {
              return f.name == rule &&
                     (f.message + " " + f.tensor + " " + f.file).find(sub.get<std::string>()) !=
                         std::string::npos;
            });
        CHECK_MESSAGE(found, rule, " has no finding mentioning \"", sub.get<std::string>(), "\"");
      }
    }
    ++specs;
  }
  if (only_spec) return;
  CHECK(specs > 10);
  for (const auto& r : rules.rules()) {
    // Compare-tier rules do not run in a scan; tests/test_compare.cpp fires and controls them.
    if (r.tier == "compare") continue;
    CAPTURE(r.name);
    CHECK_MESSAGE(!fired_in[r.name].empty(), "no fixture makes this rule fire");
    CHECK_MESSAGE(!controlled_in[r.name].empty(), "no control fixture for this rule");
  }
}

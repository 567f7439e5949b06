// --baseline: fingerprints that survive volatile numbers, and the accepted / new / gone split.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "scan/baseline.h"

namespace {

ckd::Finding finding(const std::string& code, const std::string& tensor, const std::string& message,
                     ckd::Severity severity = ckd::Severity::kError) {
  return {code, "rule-" + code, severity, "model.safetensors", tensor, message, 0};
}

}  // namespace

TEST_CASE("mask_numbers masks measurements, not words") {
  CHECK(ckd::mask_numbers("scale -3.1e-05 is not positive") == "scale -# is not positive");
  CHECK(ckd::mask_numbers("total_size 1234 != 5678 (1.5E+10)") == "total_size # != # (#)");
  CHECK(ckd::mask_numbers("... and 12 more") == "... and # more");
  CHECK(ckd::mask_numbers("fp8 e4m3") == "fp# e#m#");
  CHECK(ckd::mask_numbers("no digits.") == "no digits.");
}

TEST_CASE("fingerprints: stable under numbers, different for rule, file, tensor and words") {
  auto a = finding("CKD503", "m.w_scale", "scale -0.0003 at [0, 1]");
  auto b = finding("CKD503", "m.w_scale", "scale -0.25 at [3, 7]");
  CHECK(ckd::baseline_fingerprint(a) == ckd::baseline_fingerprint(b));
  CHECK(ckd::baseline_fingerprint(a).size() == 16);
  auto other_rule = a;
  other_rule.code = "CKD504";
  auto other_tensor = a;
  other_tensor.tensor = "m2.w_scale";
  auto other_file = a;
  other_file.file = "model-00002-of-00002.safetensors";
  auto other_words = finding("CKD503", "m.w_scale", "scale NaN at [0, 1]");
  for (const auto& f : {other_rule, other_tensor, other_file, other_words})
    CHECK(ckd::baseline_fingerprint(f) != ckd::baseline_fingerprint(a));
}

TEST_CASE("apply_baseline: accepted, new and gone, counted per fingerprint") {
  const std::string path =
      (std::filesystem::temp_directory_path() / "ckd_test_baseline.json").string();
  ckd::ScanReport recorded;
  recorded.findings = {finding("CKD503", "a", "scale -1 at 0"),
                       finding("CKD503", "a", "scale -2 at 1"),
                       finding("CKD201", "", "total_size 10 != 12", ckd::Severity::kWarning)};
  ckd::write_baseline(path, recorded);
  ckd::Baseline baseline = ckd::load_baseline(path);
  REQUIRE(baseline.entries.size() == 2);  // the two CKD503 findings share a fingerprint
  CHECK(baseline.entries[0].count == 2);

  ckd::ScanReport today;
  today.fail_on = ckd::Severity::kWarning;
  today.findings = {finding("CKD503", "a", "scale -5 at 0"),
                    finding("CKD503", "a", "scale -6 at 1"),
                    finding("CKD503", "a", "scale -7 at 2"),     // one more than accepted: new
                    finding("CKD402", "b", "repeated prefix")};  // new rule: new
  ckd::apply_baseline(baseline, today);
  REQUIRE(today.baseline);
  CHECK(today.baseline->accepted == 2);
  CHECK(today.findings.size() == 2);
  CHECK(today.errors == 2);
  CHECK(today.failed);
  REQUIRE(today.baseline->gone.size() == 1);  // the index warning was fixed
  CHECK(today.baseline->gone[0].first.code == "CKD201");

  ckd::ScanReport same;
  same.fail_on = ckd::Severity::kInfo;
  same.findings = recorded.findings;
  ckd::apply_baseline(baseline, same);
  CHECK(same.findings.empty());
  CHECK_FALSE(same.failed);
  CHECK(same.baseline->gone.empty());
  std::filesystem::remove(path);
}

TEST_CASE("load_baseline rejects what it cannot trust") {
  const std::string path =
      (std::filesystem::temp_directory_path() / "ckd_test_bad_baseline.json").string();
  for (const char* text :
       {"[]", "{\"findings\": []}", "{\"ckptdoctor_baseline\": 1, \"findings\": [1]}",
        "{\"ckptdoctor_baseline\": 1, \"findings\": [{\"fingerprint\": \"x\"}]}", "{"}) {
    std::ofstream(path) << text;
    CHECK_THROWS(ckd::load_baseline(path));
  }
  std::filesystem::remove(path);
}

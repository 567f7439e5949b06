// compressed-tensors save_compressed=False (issue 10 #17): format "dense", status "frozen", BF16
// weights next to weight_scale / weight_zero_point. scan reports the false quantization; compare
// measures what the sidecars would give, against the numpy/ml_dtypes oracle's fake_quantize
// (scripts/make_compare_oracle.py).
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "compare/compare.h"
#include "compare/fake_quant.h"
#include "rules/rule_set.h"
#include "test_util.h"

namespace {

const std::string kDir = std::string(CKD_SOURCE_DIR) + "/fixtures/compare/";

ckd::CompareReport compare(const std::string& variant) {
  static const ckd::RuleSet rules = ckd::RuleSet::builtin();
  ckd::CompareRequest r;
  r.quant_dir = kDir + variant;
  r.source_dir = kDir + "source";
  r.rule = rules.find("roundtrip-error");
  return ckd::run_compare(r);
}

std::vector<ckd::Finding> findings_of(const ckd::ScanReport& r, const std::string& rule) {
  std::vector<ckd::Finding> out;
  for (const auto& f : r.findings) {
    if (f.name == rule) out.push_back(f);
  }
  return out;
}

}  // namespace

TEST_CASE("scan: a compressed-tensors \"dense\" / \"frozen\" checkpoint is false quantization") {
  for (const char* variant : {"ct-dense-int4-asym", "ct-dense-fp8-channel", "ct-dense-nvfp4"}) {
    CAPTURE(variant);
    auto found = findings_of(ckd_test::scan_all_rules(kDir + variant), "false-quantization");
    REQUIRE(found.size() == 1);
    const std::string& msg = found[0].message;
    CAPTURE(msg);
    CHECK(msg.find("\"dense\"") != std::string::npos);
    CHECK(msg.find("\"frozen\"") != std::string::npos);
    CHECK(msg.find("28 of 28 targeted modules") != std::string::npos);
    CHECK(msg.find("uncompressed as BF16") != std::string::npos);
    CHECK(msg.find("disk size is not reduced") != std::string::npos);
    CHECK(msg.find("save_compressed=True") != std::string::npos);
    CHECK(found[0].severity == ckd::Severity::kError);
  }
  // Controls: the same quantization stored compressed, and an unquantized checkpoint.
  CHECK(findings_of(ckd_test::scan_all_rules(kDir + "ct-int3-asym"), "false-quantization").empty());
  CHECK(findings_of(ckd_test::scan_all_rules(kDir + "ct-fp8-channel"), "false-quantization")
            .empty());
  CHECK(findings_of(ckd_test::scan_all_rules(kDir + "source"), "false-quantization").empty());
}

TEST_CASE("scheme: format \"dense\" keeps what its weights would quantize to") {
  auto ck = ckd::Checkpoint::open(kDir + "ct-dense-int4-asym");
  const ckd::QuantScheme& s = ck->scheme();
  CHECK_FALSE(s.quantizes());  // nothing is stored quantized
  REQUIRE(s.groups.size() == 1);
  CHECK(s.groups[0].dense_of == ckd::WeightFormat::kIntPacked);
  CHECK(s.groups[0].bits == 4);
  CHECK(s.status == "frozen");
  auto compressed = ckd::Checkpoint::open(kDir + "ct-int4-group");
  CHECK(compressed->scheme().groups[0].dense_of == ckd::WeightFormat::kNone);
}

TEST_CASE("compare: dense modules are measured as their sidecars fake-quantize them") {
  nlohmann::json expected = nlohmann::json::parse(std::ifstream(kDir + "expected.json"));
  for (auto [variant, format] : {std::pair{"ct-dense-int4-asym", "int4"},
                                 std::pair{"ct-dense-fp8-channel", "fp8"},
                                 std::pair{"ct-dense-nvfp4", "nvfp4"}}) {
    CAPTURE(variant);
    const nlohmann::json& modules = expected[variant]["modules"];
    ckd::CompareReport r = compare(variant);
    CHECK(r.undecodable.empty());
    CHECK(r.passed());
    REQUIRE(r.tensors.size() == modules.size());
    for (const auto& [module, want] : modules.items()) {
      CAPTURE(module);
      const ckd::ModuleError* got = nullptr;
      for (const auto& e : r.tensors) {
        if (e.module == module) got = &e;
      }
      REQUIRE(got != nullptr);
      CHECK(got->rel_error == doctest::Approx(want["rel_error"].get<double>()).epsilon(1e-9));
      CHECK(got->max_abs_error ==
            doctest::Approx(want["max_abs_error"].get<double>()).epsilon(1e-12));
      CHECK(got->rel_error > 0.005);  // a real quantization error, not the BF16 weight itself
    }
    CHECK(r.tensors[0].format == format);
    CHECK(r.stored_dense);
  }
}

TEST_CASE("fake quantization: the roundings torch applies") {
  // BF16: to nearest, ties to even (1 + 2^-8 is halfway between 1 and 1 + 2^-7).
  CHECK(ckd::round_to_dtype(ckd::Dtype::kBF16, 1.0f + 0.00390625f) == 1.0f);
  CHECK(ckd::round_to_dtype(ckd::Dtype::kBF16, 1.0f + 3 * 0.00390625f) == 1.0f + 4 * 0.00390625f);
  CHECK(ckd::round_to_dtype(ckd::Dtype::kF32, 1.0f + 0.00390625f) == 1.0f + 0.00390625f);
  // E4M3: 1.0625 is halfway between 1 (even code) and 1.125; 17 between 16 and 18 -> 16.
  CHECK(ckd::round_to_e4m3(1.0625f) == 1.0f);
  CHECK(ckd::round_to_e4m3(1.1875f) == 1.25f);
  CHECK(ckd::round_to_e4m3(-17.0f) == -16.0f);
  CHECK(ckd::round_to_e4m3(448.0f) == 448.0f);
  CHECK(ckd::round_to_e4m3(0.005859375f) == 0.005859375f);  // 3 x 2^-9, a subnormal: exact
  CHECK(ckd::round_to_e4m3(0.0009765625f) == 0.0f);  // 2^-10: halfway to 0 (even)
  // E2M1 (cast_to_fp4): 0.25 -> 0, 0.75 -> 1, 2.5 -> 2, 5 -> 4, 5.01 -> 6.
  CHECK(ckd::round_to_e2m1(0.25f) == 0.0f);
  CHECK(ckd::round_to_e2m1(0.75f) == 1.0f);
  CHECK(ckd::round_to_e2m1(-2.5f) == -2.0f);
  CHECK(ckd::round_to_e2m1(5.0f) == 4.0f);
  CHECK(ckd::round_to_e2m1(5.01f) == 6.0f);
  // Integers: half to even, clamped to the signed range; (q - z) * s.
  ckd::FakeQuant q;
  q.type = ckd::FakeQuantType::kInt;
  q.bits = 4;
  q.weight = ckd::Dtype::kF32;
  q.scale = ckd::Dtype::kF32;
  CHECK(q.apply(2.5f, 1.0f, 0) == 2.0f);
  CHECK(q.apply(3.5f, 1.0f, 0) == 4.0f);
  CHECK(q.apply(100.0f, 0.5f, 0) == 3.5f);  // clamped to 7
  CHECK(q.apply(-100.0f, 0.5f, 0) == -4.0f);  // clamped to -8
  q.zero_point = true;
  CHECK(q.apply(1.0f, 1.0f, -3.0f) == 1.0f);  // y = 1 - 3 = -2, W = (-2 + 3) x 1
  CHECK(std::isnan(q.apply(0.0f, 0.0f, 0)));  // 0 / 0: NaN, counted as decoded NaN
}

// Rule data: tensor selectors, validation of rule files, and selection by name/code/family.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fixture/fixture.h"
#include "rules/checks/util.h"
#include "rules/engine.h"
#include "scan/scan.h"
#include "test_util.h"

TEST_CASE("expert keys: the first experts segment followed by a whole index") {
  auto key = ckd::parse_expert_key("model.layers.0.mlp.experts.12.down_proj.weight");
  REQUIRE(key);
  CHECK(key->layer == "model.layers.0.mlp.experts");
  CHECK(key->expert == 12);
  CHECK(key->rest == "down_proj.weight");
  // An "x" before the segment, and an experts segment without an index before the one with.
  key = ckd::parse_expert_key("model.mixer.experts.gate.experts.3.w");
  REQUIRE(key);
  CHECK(key->layer == "model.mixer.experts.gate.experts");
  CHECK(key->expert == 3);
  CHECK(key->rest == "w");
  for (const char* none : {"experts.3.w", "a.experts.3", "a.experts.1234567890.w", "a.xexperts.3.w",
                           "a.experts.3x.w", "a.experts..w", "a.experts.gate_up_proj", "x", "",
                           "a.expert", ".experts", "a.experts.", "a.experts.7", "xx.experts"}) {
    CAPTURE(none);
    CHECK(!ckd::parse_expert_key(none));
  }
}

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
  // Codes are CKD[1-8][0-9]{2}, names [a-z0-9]+(-[a-z0-9]+)*, checked character by character.
  for (const char* code : {"CKD901", "CKD001", "CKD79", "CKD7911", "CKD7a1", "ckd791", " CKD791"}) {
    CAPTURE(code);
    CHECK_THROWS_WITH_AS(bad(std::string(R"({"code": ")") + code +
                             R"(", "name": "x", "check": "shard-set", "severity": "error", )" +
                             docs + "}"),
                         doctest::Contains("bad code"), std::runtime_error);
  }
  for (const char* name : {"-x", "x-", "a--b", "a_b", "A", "a b", "a.b"}) {
    CAPTURE(name);
    CHECK_THROWS_WITH_AS(bad(std::string(R"({"code": "CKD795", "name": ")") + name +
                             R"(", "check": "shard-set", "severity": "error", )" + docs + "}"),
                         doctest::Contains("bad name"), std::runtime_error);
  }
  for (const char* name : {"x", "a-b", "a1-2b-c3", "7"}) {
    CAPTURE(name);
    CHECK_NOTHROW(bad(std::string(R"({"code": "CKD795", "name": ")") + name +
                      R"(", "check": "shard-set", "severity": "error", )" + docs + "}"));
  }
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

TEST_CASE("index-total-size: the block padding huggingface_hub counts is accepted, no more") {
  // fixtures/producers/ct-fp8-block: total_size = tensor bytes + 32,768, the padding of the four
  // 64x128 k/v projections to 128x128 blocks. One byte more is a stale index.
  ckd_test::TempDir tmp;
  std::string dir = tmp.path() + "/ck";
  std::filesystem::copy(std::string(CKD_SOURCE_DIR) + "/fixtures/producers/ct-fp8-block", dir);
  auto count = [&] {
    size_t n = 0;
    for (const auto& f : ckd_test::scan_all_rules(dir).findings) n += f.name == "index-total-size";
    return n;
  };
  CHECK(count() == 0);
  std::string path = dir + "/model.safetensors.index.json";
  nlohmann::json index = nlohmann::json::parse(std::ifstream(path));
  uint64_t healthy = index["metadata"]["total_size"].get<uint64_t>();
  for (uint64_t total : {healthy + 1, healthy - 32768 - 1}) {
    CAPTURE(total);
    index["metadata"]["total_size"] = total;
    std::ofstream(path) << index.dump();
    CHECK(count() == 1);
  }
  index["metadata"]["total_size"] = healthy - 32768;  // exactly the tensor bytes
  std::ofstream(path) << index.dump();
  CHECK(count() == 0);
}

TEST_CASE("index-total-size: GPTQModel's total_size (the shard files, headers included) is accepted") {
  // fixtures/producers/gptq-int4-sym, saved by GPTQModel: total_size is the two files' sizes.
  ckd_test::TempDir tmp;
  std::string dir = tmp.path() + "/ck";
  std::filesystem::copy(std::string(CKD_SOURCE_DIR) + "/fixtures/producers/gptq-int4-sym", dir);
  auto count = [&] {
    size_t n = 0;
    for (const auto& f : ckd_test::scan_all_rules(dir).findings) n += f.name == "index-total-size";
    return n;
  };
  std::string path = dir + "/model.safetensors.index.json";
  nlohmann::json index = nlohmann::json::parse(std::ifstream(path));
  uint64_t files = 0;
  std::set<std::string> shards;
  for (const auto& [name, shard] : index["weight_map"].items()) shards.insert(shard);
  for (const auto& shard : shards) files += std::filesystem::file_size(dir + "/" + shard);
  CHECK(index["metadata"]["total_size"].get<uint64_t>() == files);
  CHECK(count() == 0);
  for (uint64_t total : {files + 1, files - 1}) {
    CAPTURE(total);
    index["metadata"]["total_size"] = total;
    std::ofstream(path) << index.dump();
    CHECK(count() == 1);
  }
}

TEST_CASE("non-positive-scale: auto-round's negative GPTQ scales are healthy, a zero is not") {
  // fixtures/producers/ar-gptq-int4-sym: auto-round's symmetric quantizer keeps the sign of each
  // group's larger extreme, so about half the scales are negative; GPTQ multiplies by them.
  ckd_test::TempDir tmp;
  std::string dir = tmp.path() + "/ck";
  std::filesystem::copy(std::string(CKD_SOURCE_DIR) + "/fixtures/producers/ar-gptq-int4-sym", dir);
  auto findings = [&] {
    std::vector<std::string> out;
    for (const auto& f : ckd_test::scan_all_rules(dir).findings)
      if (f.name == "non-positive-scale") out.push_back(f.tensor + ": " + f.message);
    return out;
  };
  CHECK(findings().empty());
  // Zero the first F16 scale of one module, in whichever shard holds it.
  const std::string tensor = "model.layers.0.self_attn.q_proj.scales";
  nlohmann::json index =
      nlohmann::json::parse(std::ifstream(dir + "/model.safetensors.index.json"));
  std::string shard = dir + "/" + index["weight_map"][tensor].get<std::string>();
  std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
  uint64_t header_len = 0;
  f.read(reinterpret_cast<char*>(&header_len), 8);
  std::string header(header_len, '\0');
  f.read(header.data(), static_cast<std::streamsize>(header_len));
  nlohmann::json h = nlohmann::json::parse(header);
  REQUIRE(h[tensor]["dtype"] == "F16");
  uint64_t begin = h[tensor]["data_offsets"][0].get<uint64_t>();
  f.seekp(static_cast<std::streamoff>(8 + header_len + begin));
  f.write("\0\0", 2);
  f.close();
  std::vector<std::string> got = findings();
  REQUIRE(got.size() == 1);
  CHECK(got[0].find(tensor) != std::string::npos);
  CAPTURE(got[0]);
  CHECK(got[0].find("1 of 512 values are zero") != std::string::npos);  // [128 / 32, 128]
}

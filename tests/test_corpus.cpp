// Real files written by other tools (fixtures/real, copied from shared/corpus): every one scans
// without a crash, and the consistent ones without errors.
#include <doctest/doctest.h>

#include <filesystem>

#include "rules/engine.h"
#include "scan/scan.h"
#include "test_util.h"

namespace {

ckd::ScanReport scan(const std::string& dir) {
  return ckd_test::scan_all_rules(dir, true);
}

std::string real(const std::string& rel) {
  return std::string(CKD_SOURCE_DIR) + "/fixtures/real/" + rel;
}

}  // namespace

TEST_CASE("a consistent sharded checkpoint (SafeTensors.jl) scans without errors") {
  auto r = scan(real("safetensors/jl-sharded"));
  CHECK(r.files == 6);
  CHECK(r.tensors == 36);
  CHECK(r.errors == 0);
  CHECK(r.warnings == 0);
}

TEST_CASE("single real files written by other implementations scan without errors") {
  for (const char* dir : {"safetensors/swift-test-vector", "safetensors/burn-multi-layer",
                          "safetensors/candle-encodec", "safetensors/narsil-distributed",
                          "safetensors/zig-mxfp4", "safetensors/cpp-gen-f64"}) {
    CAPTURE(dir);
    auto r = scan(real(dir));
    CHECK(r.files >= 1);
    CHECK(r.errors == 0);
  }
}

TEST_CASE("unaligned 2022 samples are info, not errors") {
  auto r = scan(real("safetensors/unaligned-2022"));
  CHECK(r.errors == 0);
  CHECK(r.infos >= 1);
}

TEST_CASE("the safetensors-cpp abuse file is an invalid header, not a crash") {
  auto r = scan(real("safetensors/abuse-attempt-1"));
  REQUIRE(r.findings.size() == 1);
  CHECK(r.findings[0].name == "invalid-header");
  CHECK(r.findings[0].message.find("header length 1000 runs past the end of the file (88 bytes)") !=
        std::string::npos);
}

TEST_CASE("real indexes without their shards: missing shards in one finding, no crash") {
  auto r = scan(real("indexes/qwen3.5-moe-reap"));
  REQUIRE(!r.findings.empty());
  CHECK(r.findings[0].name == "index-missing-shard");
  CHECK(r.findings[0].message.find("7 shards named by weight_map do not exist") !=
        std::string::npos);
}

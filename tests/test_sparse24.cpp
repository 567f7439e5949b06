// compressed-tensors sparse-24-bitmask: the declaration (sparsity_config, alone and stacked over
// FP8), and the invalid-sparsity-mask rule and compare's decoder on broken copies of the real
// producer's output (fixtures/producers/ct-sparse24*, compressed-tensors 0.14.0.1). The healthy
// copies' clean scans and exact decoding are held by test_producers.cpp.
#include <doctest/doctest.h>

#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "checkpoint/quant_scheme.h"
#include "compare/compare.h"
#include "compare/quantized_matrix.h"
#include "rules/rule_set.h"
#include "test_util.h"

namespace fs = std::filesystem;
using ckd::WeightFormat;
using nlohmann::json;

namespace {

const std::string kProducers = std::string(CKD_SOURCE_DIR) + "/fixtures/producers/";

json read_json(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), path);
  return json::parse(in);
}

ckd::QuantScheme scheme_of(const json& config) {
  return ckd::parse_quant_scheme(&config, nullptr);
}

// A copy of a producer variant in a temporary directory.
std::string copy_variant(const ckd_test::TempDir& tmp, const std::string& variant) {
  std::string dir = tmp.path() + "/" + variant;
  fs::copy(kProducers + variant, dir, fs::copy_options::recursive);
  return dir;
}

// Overwrites `bytes` at `offset` of tensor `name`'s data in its shard.
void patch_tensor(const std::string& dir, const std::string& name, uint64_t offset,
                  const std::string& bytes) {
  uint64_t at = 0;
  std::string file;
  {
    auto ck = ckd::Checkpoint::open(dir);
    const ckd::TensorRef* ref = ck->find(name);
    REQUIRE(ref);
    REQUIRE(offset + bytes.size() <= ref->info->nbytes());
    at = ref->shard->data_start() + ref->info->begin + offset;
    file = dir + "/" + ref->shard->display_name();
  }
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f.good());
  f.seekp(static_cast<std::streamoff>(at));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_tensor(const std::string& dir, const std::string& name) {
  auto ck = ckd::Checkpoint::open(dir);
  const ckd::TensorRef* ref = ck->find(name);
  REQUIRE(ref);
  return std::string(ref->shard->tensor_bytes(*ref->info));
}

std::vector<ckd::Finding> findings_of(const ckd::ScanReport& report, const std::string& rule) {
  std::vector<ckd::Finding> out;
  for (const auto& f : report.findings)
    if (f.name == rule) out.push_back(f);
  return out;
}

ckd::CompareReport compare(const std::string& dir) {
  static const ckd::RuleSet rules = ckd::RuleSet::builtin();
  ckd::CompareRequest r;
  r.quant_dir = dir;
  r.source_dir = kProducers + "source-llama-24";
  r.rule = rules.find("roundtrip-error");
  r.device = "cpu";
  return ckd::run_compare(r);
}

const std::string kMask = "model.layers.0.mlp.down_proj.bitmask";

}  // namespace

TEST_CASE("sparse24: sparsity_config alone makes the targets 2:4 sparse (llama2.c-stories42M)") {
  json config = read_json(std::string(CKD_SOURCE_DIR) + "/fixtures/real/configs/"
                          "nm-testing--llama2.c-stories42M-pruned2.4-compressed_config.json");
  ckd::QuantScheme s = scheme_of(config);
  REQUIRE(s.sparsity);
  CHECK(s.sparsity->format == "sparse-24-bitmask");
  CHECK(s.sparsity->structure == "2:4");
  CHECK(s.groups.empty());
  CHECK(s.quantizes());  // stored compressed
  const ckd::QuantGroup* g = s.sparse_group_for(nullptr, "model.layers.0.mlp.down_proj", true);
  REQUIRE(g);
  CHECK(g->format == WeightFormat::kSparse24);
  CHECK(s.sparse_group_for(nullptr, "lm_head", true) == nullptr);       // sparsity ignore
  CHECK(s.sparse_group_for(nullptr, "model.norm", false) == nullptr);  // not a Linear
  CHECK(s.problems.empty());
  CHECK(s.invalid.empty());
}

TEST_CASE("sparse24: stacked over FP8 the group follows its quantization's strategy") {
  json config = read_json(kProducers + "ct-sparse24-fp8/config.json");
  ckd::QuantScheme s = scheme_of(config);
  REQUIRE(s.groups.size() == 1);
  CHECK(s.groups[0].format == WeightFormat::kFp8Channel);
  const ckd::QuantGroup* g = s.sparse_group_for(&s.groups[0], "model.layers.1.self_attn.q_proj", true);
  REQUIRE(g);
  CHECK(g->format == WeightFormat::kSparse24Fp8Channel);

  json& weights = config["quantization_config"]["config_groups"]["group_0"]["weights"];
  weights["strategy"] = "tensor";
  ckd::QuantScheme tensor = scheme_of(config);
  CHECK(tensor.sparse_group_for(&tensor.groups[0], "model.layers.0.mlp.up_proj", true)->format ==
        WeightFormat::kSparse24Fp8Tensor);

  // Other stacks are not modelled: said, and not guessed.
  weights["type"] = "int";
  ckd::QuantScheme ints = scheme_of(config);
  CHECK(ints.sparse_group_for(&ints.groups[0], "model.layers.0.mlp.up_proj", true)->format ==
        WeightFormat::kUnknown);
  CHECK(ints.problems.size() == 1);
}

TEST_CASE("sparse24: a structure other than 2:4 is invalid, other sparsity formats unmodelled") {
  json config = read_json(kProducers + "ct-sparse24/config.json");
  json& sc = config["quantization_config"]["sparsity_config"];
  sc["sparsity_structure"] = "2:8";
  ckd::QuantScheme bad = scheme_of(config);
  CHECK(bad.invalid.size() == 1);
  CHECK(bad.sparse_group_for(nullptr, "model.layers.0.mlp.up_proj", true)->format ==
        WeightFormat::kUnknown);

  sc["sparsity_structure"] = "unstructured";
  sc["format"] = "sparse-bitmask";
  ckd::QuantScheme other = scheme_of(config);
  CHECK(other.invalid.empty());
  CHECK(other.problems.size() == 1);
  CHECK(other.sparse_group_for(nullptr, "model.layers.0.mlp.up_proj", true) == nullptr);
}

TEST_CASE("sparse24: invalid-sparsity-mask fires on a group keeping three, not on the producer's") {
  for (const std::string variant : {"ct-sparse24", "ct-sparse24-fp8"}) {
    CAPTURE(variant);
    ckd_test::TempDir tmp;
    std::string dir = copy_variant(tmp, variant);
    // Control: the producer's bitmask (every group two of four).
    CHECK(findings_of(ckd_test::scan_all_rules(dir, true), "invalid-sparsity-mask").empty());
    CHECK(compare(dir).undecodable.empty());

    // Byte 0 holds row 0's groups 0 and 1: set one more bit in group 0.
    std::string byte = read_tensor(dir, kMask).substr(0, 1);
    unsigned char b = static_cast<unsigned char>(byte[0]);
    REQUIRE(std::popcount(static_cast<unsigned>(b & 0x0F)) == 2);
    for (int bit = 0; bit < 4; ++bit) {
      if (!(b & (1u << bit))) {
        b = static_cast<unsigned char>(b | (1u << bit));
        break;
      }
    }
    patch_tensor(dir, kMask, 0, std::string(1, static_cast<char>(b)));
    auto fired = findings_of(ckd_test::scan_all_rules(dir, true), "invalid-sparsity-mask");
    REQUIRE(fired.size() == 1);
    CHECK(fired[0].tensor == kMask);
    CHECK(fired[0].message.find("row 0, columns 0-3 keep 3") != std::string::npos);
    // compare does not decode it (the row's values would land on the wrong columns).
    ckd::CompareReport report = compare(dir);
    REQUIRE(report.undecodable.size() == 1);
    CHECK(report.undecodable[0].module == "model.layers.0.mlp.down_proj");
  }
}

TEST_CASE("sparse24: invalid-sparsity-mask fires on a shape tensor of another weight") {
  ckd_test::TempDir tmp;
  std::string dir = copy_variant(tmp, "ct-sparse24-fp8");
  int64_t dims[2] = {128, 512};  // down_proj is [128, 256]
  std::string bytes(16, '\0');
  std::memcpy(bytes.data(), dims, 16);
  patch_tensor(dir, "model.layers.0.mlp.down_proj.shape", 0, bytes);
  auto fired = findings_of(ckd_test::scan_all_rules(dir, true), "invalid-sparsity-mask");
  REQUIRE(fired.size() == 1);
  CHECK(fired[0].message.find("shape says [128, 512]") != std::string::npos);
  CHECK(compare(dir).undecodable.size() == 1);
}

TEST_CASE("sparse24: a misread scale fails the roundtrip limit") {
  // Every scale of one module x4 (BF16 exponent + 2): 300% error, far past sparse24-fp8's 0.50.
  ckd_test::TempDir tmp;
  std::string dir = copy_variant(tmp, "ct-sparse24-fp8");
  const std::string name = "model.layers.0.mlp.down_proj.weight_scale";
  std::string scales = read_tensor(dir, name);
  for (size_t i = 0; i + 1 < scales.size(); i += 2) {
    uint16_t v = static_cast<uint16_t>(static_cast<unsigned char>(scales[i]) |
                                       static_cast<unsigned char>(scales[i + 1]) << 8);
    v = static_cast<uint16_t>(v + (2u << 7));
    scales[i] = static_cast<char>(v & 0xFF);
    scales[i + 1] = static_cast<char>(v >> 8);
  }
  patch_tensor(dir, name, 0, scales);
  ckd::CompareReport report = compare(dir);
  CHECK(report.failed == 1);
  for (const auto& e : report.tensors) {
    if (e.module != "model.layers.0.mlp.down_proj") continue;
    CHECK_FALSE(e.passed);
    CHECK(e.rel_error == doctest::Approx(3.0).epsilon(0.05));
  }
}

TEST_CASE("sparse24: the decoder places each row's values on its set bits, for every value dtype") {
  // One row of 8: bit c % 8 of byte c / 8 (numpy packbits little). 0x96 keeps columns 1, 2
  // (low nibble 0110) and 4, 7 (high nibble 1001).
  ckd::QuantizedMatrix m;
  m.coding = ckd::ElementCoding::kSparse24Bitmask;
  m.rows = 1;
  m.cols = 8;
  m.block_rows = 1;
  m.block_cols = 8;
  m.sparse_mask = std::make_shared<std::vector<unsigned char>>(std::vector<unsigned char>{0x96});
  const std::vector<float> want = {0, 1, -2, 0, 0.5f, 0, 0, 3};
  auto decode = [&](ckd::Dtype dtype, const std::string& values, float scale) {
    m.sparse_values = dtype;
    std::vector<float> out(8, -99.0f);
    ckd::decode_sparse24_rows(m, {scale}, values, 0, 1, out.data());
    return out;
  };
  // F16 1.0, -2.0, 0.5, 3.0.
  CHECK(decode(ckd::Dtype::kF16, std::string("\x00\x3C\x00\xC0\x00\x38\x00\x42", 8), 1.0f) == want);
  // BF16 the same values.
  CHECK(decode(ckd::Dtype::kBF16, std::string("\x80\x3F\x00\xC0\x00\x3F\x40\x40", 8), 1.0f) ==
        want);
  std::string f32(16, '\0');
  const float values[4] = {1, -2, 0.5f, 3};
  std::memcpy(f32.data(), values, 16);
  CHECK(decode(ckd::Dtype::kF32, f32, 1.0f) == want);
  // E4M3 2.0 (0x40), -4.0 (0xC8), 1.0 (0x38), 6.0 (0x4C), times a scale of 0.5.
  CHECK(decode(ckd::Dtype::kF8_E4M3, std::string("\x40\xC8\x38\x4C", 4), 0.5f) == want);
}

// GPTQ, AWQ and compressed-tensors actorder against an independent oracle:
// scripts/make_gptq_awq_oracle.py quantized a BF16 source with numpy following GPTQModel's,
// AutoAWQ's and compressed-tensors' packers and computed every module's errors with its own
// dequantizer (fixtures/compare-gptq/expected.json). The C++ decoders must agree, the healthy
// exports must scan clean and pass their limits, and the flipped zero-point convention must fail.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "compare/compare.h"
#include "compare/layout.h"
#include "rules/rule_set.h"
#include "test_util.h"

namespace {

using ckd_test::find_module;

const std::string kDir = std::string(CKD_SOURCE_DIR) + "/fixtures/compare-gptq/";

const ckd::Rule& roundtrip_rule() {
  static const ckd::RuleSet rules = ckd::RuleSet::builtin();
  return *rules.find("roundtrip-error");
}

ckd::CompareReport compare(const std::string& quant, uint64_t chunk_elements = 1u << 20) {
  ckd::CompareRequest r;
  r.quant_dir = quant;
  r.source_dir = kDir + "source";
  r.rule = &roundtrip_rule();
  r.chunk_elements = chunk_elements;
  r.device = "cpu";
  return ckd::run_compare(r);
}

nlohmann::json expected() {
  return nlohmann::json::parse(std::ifstream(kDir + "expected.json"));
}

size_t count_rule(const ckd::ScanReport& r, const std::string& name) {
  size_t n = 0;
  for (const auto& f : r.findings) n += f.name == name ? f.count() : 0;
  return n;
}

// Overwrites the int32 at `index` of tensor `name` in a copy's single shard.
void poke_i32(const std::string& dir, const std::string& name, uint64_t index, int32_t value) {
  auto ck = ckd::Checkpoint::open(dir);
  const ckd::TensorRef* t = ck->find(name);
  REQUIRE(t != nullptr);
  uint64_t at = t->shard->data_start() + t->info->begin + 4 * index;
  std::fstream f(dir + "/model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(at));
  char bytes[4];
  std::memcpy(bytes, &value, 4);
  f.write(bytes, 4);
}

}  // namespace

TEST_CASE("gptq/awq compare: every module's errors equal the numpy oracle's") {
  nlohmann::json want_all = expected();
  REQUIRE_FALSE(want_all.empty());
  for (const auto& [variant, entry] : want_all.items()) {
    CAPTURE(variant);
    const nlohmann::json& modules = entry["modules"];
    ckd::CompareReport report = compare(kDir + variant);
    CHECK(report.undecodable.empty());
    CHECK(report.tensors.size() == modules.size());
    for (const auto& [module, want] : modules.items()) {
      CAPTURE(module);
      const ckd::ModuleError* got = find_module(report, module);
      REQUIRE(got != nullptr);
      CHECK(got->rel_error == doctest::Approx(want["rel_error"].get<double>()).epsilon(1e-9));
      CHECK(got->max_abs_error == doctest::Approx(want["max_abs_error"].get<double>()).epsilon(1e-12));
    }
  }
}

TEST_CASE("gptq/awq compare: healthy exports pass their format's limit, the flipped convention fails") {
  const nlohmann::json want_all = expected();
  for (const auto& [variant, entry] : want_all.items()) {
    if (variant.ends_with("-broken")) continue;
    CAPTURE(variant);
    ckd::CompareReport r = compare(kDir + variant);
    CHECK(r.passed());
    for (const auto& e : r.tensors) {
      CAPTURE(e.module);
      CHECK(e.rel_error < e.limit);
      // Four bits and more: the healthy error is at most half the limit.
      if (e.format.ends_with("int4") || e.format.ends_with("int8")) CHECK(e.rel_error < e.limit / 2);
    }
  }
  // The same tensors as gptq-int4-sym-v1, declared gptq_v2: every zero is read one step low.
  ckd::CompareReport flipped = compare(kDir + "gptq-int4-flipped-broken");
  ckd::CompareReport healthy = compare(kDir + "gptq-int4-sym-v1");
  REQUIRE(flipped.tensors.size() == healthy.tensors.size());
  CHECK(flipped.failed == flipped.tensors.size());
  CHECK(healthy.failed == 0);
  for (const auto& e : flipped.tensors) {
    CAPTURE(e.module);
    CHECK(e.format == "gptq-int4");
    CHECK(e.rel_error > e.limit * 1.2);  // fails with margin
    CHECK(find_module(healthy, e.module)->rel_error < e.limit / 2);
  }
}

TEST_CASE("gptq/awq compare: the formats' limit keys and the table's decoders") {
  CHECK(compare(kDir + "gptq-int3-desc-act").tensors.at(0).format == "gptq-int3");
  CHECK(compare(kDir + "gptq-int2-group-all").tensors.at(0).format == "gptq-int2");
  CHECK(compare(kDir + "gptq-int8-v2").tensors.at(0).format == "gptq-int8");
  CHECK(compare(kDir + "awq-gemm").tensors.at(0).format == "awq-int4");
  CHECK(compare(kDir + "awq-gemv").tensors.at(0).format == "awq-int4");
  CHECK(compare(kDir + "ct-int4-actorder").tensors.at(0).format == "int4");
}

TEST_CASE("gptq/awq compare: chunks of a few rows (whole GPTQ word rows) change nothing") {
  for (const char* variant : {"gptq-int3-desc-act", "gptq-int4-sym-v1", "gptq-int2-group-all",
                              "awq-gemm", "awq-gemv", "ct-int4-actorder"}) {
    CAPTURE(variant);
    ckd::CompareReport whole = compare(kDir + variant);
    ckd::CompareReport chunked = compare(kDir + variant, 7);  // one row, rounded up to a unit
    REQUIRE(whole.tensors.size() == chunked.tensors.size());
    for (size_t i = 0; i < whole.tensors.size(); ++i) {
      CHECK(whole.tensors[i].module == chunked.tensors[i].module);
      CHECK(whole.tensors[i].rel_error == chunked.tensors[i].rel_error);
      CHECK(whole.tensors[i].max_abs_error == chunked.tensors[i].max_abs_error);
    }
  }
}

TEST_CASE("gptq/awq scan: healthy exports are clean; the flipped convention fires") {
  const nlohmann::json want_all = expected();
  for (const auto& [variant, entry] : want_all.items()) {
    CAPTURE(variant);
    ckd::ScanReport r = ckd_test::scan_all_rules(kDir + variant);
    if (variant.ends_with("-broken")) {
      CHECK(count_rule(r, "zero-point-convention") > 0);
      continue;
    }
    for (const auto& f : r.findings) {  // what a failure below is about
      if (f.severity != ckd::Severity::kInfo) MESSAGE(f.name << ": " << f.tensor << ": " << f.message);
    }
    CHECK(r.errors == 0);
    CHECK(r.warnings == 0);
  }
}

TEST_CASE("awq gemv scan: the zero padding of each scales row is not a zero scale") {
  // The healthy export (control) is clean above; a zero among a row's real groups fires.
  ckd_test::TempDir tmp;
  std::filesystem::copy(kDir + "awq-gemv", tmp.path(), std::filesystem::copy_options::recursive);
  // q_proj.scales is F16 [128, 32]: groups 0..3 are real. Zero row 2's group 1 (F16 0 = 0x0000).
  poke_i32(tmp.path(), "model.layers.0.self_attn.q_proj.scales", (2 * 32 + 1) / 2, 0);
  ckd::ScanReport r = ckd_test::scan_all_rules(tmp.path());
  CHECK(count_rule(r, "non-positive-scale") == 1);
  bool named = false;
  for (const auto& f : r.findings) {
    if (f.name == "non-positive-scale")
      named = f.tensor == "model.layers.0.self_attn.q_proj.scales" &&
              f.message.find("2 of 512 values") != std::string::npos;
  }
  CHECK(named);
}

TEST_CASE("gptq: a repository that declares GPTQ only in quantize_config.json") {
  auto ck = ckd::Checkpoint::open(kDir + "gptq-quantize-config");
  const ckd::QuantScheme& s = ck->scheme();
  CHECK(s.method == ckd::QuantMethod::kGptq);
  CHECK(s.source_file == "quantize_config.json");
  REQUIRE(s.groups.size() == 1);
  CHECK(s.groups[0].group_size == 64);
  CHECK(s.groups[0].zero_offset == 1);
  const ckd::Module* m = ck->modules().find("model.layers.0.mlp.down_proj");
  REQUIRE(m != nullptr);
  CHECK(m->group != nullptr);
  // The zero-point-convention fix names the file that declares the convention.
  {
    ckd_test::TempDir flipped;
    std::filesystem::copy(kDir + "gptq-quantize-config", flipped.path(),
                          std::filesystem::copy_options::recursive);
    nlohmann::json qc = nlohmann::json::parse(std::ifstream(flipped.path() + "/quantize_config.json"));
    qc["checkpoint_format"] = "gptq_v2";
    std::ofstream(flipped.path() + "/quantize_config.json") << qc.dump();
    ckd::ScanReport r = ckd_test::scan_all_rules(flipped.path());
    CHECK(count_rule(r, "zero-point-convention") == 7);
    for (const auto& f : r.findings) {
      if (f.name == "zero-point-convention")
        CHECK(f.message.ends_with("set checkpoint_format to \"gptq\" in quantize_config.json"));
    }
  }
  // config.json's own declaration wins over the quantizer's file.
  ckd_test::TempDir tmp;
  std::filesystem::copy(kDir + "gptq-int4-sym-v1", tmp.path(), std::filesystem::copy_options::recursive);
  std::ofstream(tmp.path() + "/quantize_config.json") << R"({"bits": 8, "group_size": 32})";
  auto ck2 = ckd::Checkpoint::open(tmp.path());
  CHECK(ck2->scheme().source_file == "config.json");
  CHECK(ck2->scheme().groups.at(0).bits == 4);
  // AutoAWQ's quant_config.json, without quant_method.
  ckd_test::TempDir awq;
  std::filesystem::copy(kDir + "awq-gemm", awq.path(), std::filesystem::copy_options::recursive);
  std::ofstream(awq.path() + "/config.json") << R"({"architectures": ["LlamaForCausalLM"]})";
  std::ofstream(awq.path() + "/quant_config.json")
      << R"({"zero_point": true, "q_group_size": 32, "w_bit": 4, "version": "GEMM"})";
  auto ck3 = ckd::Checkpoint::open(awq.path());
  CHECK(ck3->scheme().method == ckd::QuantMethod::kAwq);
  CHECK(ck3->scheme().source_file == "quant_config.json");
  CHECK(ck3->scheme().groups.at(0).group_size == 32);
}

TEST_CASE("gptq/awq compare: what cannot be decoded is a failure with its reason") {
  SUBCASE("a g_idx value outside the groups") {
    ckd_test::TempDir tmp;
    std::filesystem::copy(kDir + "gptq-int3-desc-act", tmp.path(),
                          std::filesystem::copy_options::recursive);
    poke_i32(tmp.path(), "model.layers.0.self_attn.q_proj.g_idx", 5, 4);  // 4 groups: 0..3
    ckd::CompareReport r = compare(tmp.path());
    REQUIRE(r.undecodable.size() == 1);
    CHECK(r.undecodable[0].module == "model.layers.0.self_attn.q_proj");
    CHECK(r.undecodable[0].reason.find("g_idx[5] = 4 is outside [0, 4)") != std::string::npos);
    CHECK_FALSE(r.passed());
  }
  SUBCASE("compressed-tensors weight_g_idx outside the groups") {
    ckd_test::TempDir tmp;
    std::filesystem::copy(kDir + "ct-int4-actorder", tmp.path(),
                          std::filesystem::copy_options::recursive);
    poke_i32(tmp.path(), "model.layers.0.mlp.down_proj.weight_g_idx", 0, -1);
    ckd::CompareReport r = compare(tmp.path());
    REQUIRE(r.undecodable.size() == 1);
    CHECK(r.undecodable[0].reason.find("is outside [0, 8)") != std::string::npos);
  }
  SUBCASE("a declared group size the scales do not have") {
    ckd_test::TempDir tmp;
    std::filesystem::copy(kDir + "gptq-int4-sym-v1", tmp.path(),
                          std::filesystem::copy_options::recursive);
    nlohmann::json config = nlohmann::json::parse(std::ifstream(tmp.path() + "/config.json"));
    config["quantization_config"]["group_size"] = 64;
    std::ofstream(tmp.path() + "/config.json") << config.dump();
    ckd::CompareReport r = compare(tmp.path());
    CHECK(r.tensors.empty());
    CHECK(r.undecodable.size() == 7);
    CHECK(r.undecodable.at(0).reason.find("scales is not F16/BF16") != std::string::npos);
  }
}

TEST_CASE("gptq/awq compare: a permuted g_idx is read, the contiguous one is the block grid") {
  auto ck = ckd::Checkpoint::open(kDir + "gptq-int3-desc-act");
  const ckd::Module* m = ck->modules().find("model.layers.0.mlp.down_proj");
  REQUIRE(m != nullptr);
  ckd::Layout l = ckd::describe_module(*m);
  REQUIRE(l.matrix);
  CHECK(l.matrix->input_major);
  CHECK(l.matrix->rows == 256);  // [in, out] as stored
  CHECK(l.matrix->cols == 128);
  CHECK(l.matrix->row_unit() == 32);
  REQUIRE(l.matrix->input_groups);
  CHECK(l.matrix->input_groups->size() == 256);
  auto plain = ckd::Checkpoint::open(kDir + "gptq-int4-sym-v1");
  ckd::Layout p = ckd::describe_module(*plain->modules().find("model.layers.0.mlp.down_proj"));
  REQUIRE(p.matrix);
  CHECK_FALSE(p.matrix->input_groups);
  CHECK(p.matrix->block_rows == 32);
  CHECK(p.matrix->zero_offset == 1);
  CHECK(p.matrix->row_unit() == 8);
}

// The vector decoders against an element-by-element reading of the packings written here from
// their definitions: GPTQ's column bit streams (a 3-bit value straddles two words) and AWQ GEMM's
// interleaved nibbles (column 8j + AWQ_ORDER[i] in nibble i of word j). Widths that leave a
// scalar tail after the eight-lane loop, scales and zeros that differ per column and group.
TEST_CASE("gptq/awq decode: the vector loops give the packing's values, tails included") {
  struct Case {
    ckd::ElementCoding coding;
    int bits;
    uint64_t rows, cols, group;
  };
  for (const Case& k : {Case{ckd::ElementCoding::kGptqColumnPacked, 4, 64, 21, 16},
                        Case{ckd::ElementCoding::kGptqColumnPacked, 4, 48, 37, 12},
                        Case{ckd::ElementCoding::kGptqColumnPacked, 3, 64, 19, 16},
                        Case{ckd::ElementCoding::kGptqColumnPacked, 8, 32, 8, 16},
                        Case{ckd::ElementCoding::kGptqColumnPacked, 2, 64, 17, 32},
                        Case{ckd::ElementCoding::kAwqInterleaved, 4, 16, 24, 16},
                        Case{ckd::ElementCoding::kAwqInterleaved, 4, 44, 40, 12}}) {
    const bool gptq = k.coding == ckd::ElementCoding::kGptqColumnPacked;
    CAPTURE(gptq);
    CAPTURE(k.bits);
    ckd::QuantizedMatrix m;
    m.coding = k.coding;
    m.bits = k.bits;
    m.rows = k.rows;
    m.cols = k.cols;
    m.block_rows = k.group;  // groups along the input rows (12: a group boundary inside a word)
    m.scale_rows = (k.rows + k.group - 1) / k.group;
    m.scale_cols = k.cols;
    std::vector<float> scales(m.scale_rows * m.scale_cols), zeros(scales.size());
    for (size_t j = 0; j < scales.size(); ++j) {
      scales[j] = 0.01f * static_cast<float>(j % 13 + 1);
      zeros[j] = static_cast<float>(j % 5) + (gptq ? 1.0f : 0.0f);
    }
    const uint64_t words = gptq ? k.rows * k.bits / 32 * k.cols : k.rows * k.cols / 8;
    std::vector<uint32_t> packed(words);
    for (size_t i = 0; i < words; ++i) packed[i] = static_cast<uint32_t>(i * 2654435761u + 12345u);
    std::string codes(words * 4, '\0');
    std::memcpy(codes.data(), packed.data(), codes.size());
    std::vector<float> out(k.rows * k.cols);
    ckd::decode_rows(m, scales, zeros, codes, 0, k.rows, out.data());
    const uint32_t mask = (1u << k.bits) - 1;
    constexpr int kAwqOrder[8] = {0, 2, 4, 6, 1, 3, 5, 7};
    for (uint64_t r = 0; r < k.rows; ++r) {
      for (uint64_t c = 0; c < k.cols; ++c) {
        uint32_t q = 0;
        if (gptq) {  // bit r*bits of column c's stream: words [w][c], [w + 1][c]
          const uint64_t bit = r * k.bits, w = bit / 32;
          uint64_t pair = packed[w * k.cols + c];
          if (w + 1 < k.rows * k.bits / 32) pair |= uint64_t{packed[(w + 1) * k.cols + c]} << 32;
          q = static_cast<uint32_t>(pair >> (bit % 32)) & mask;
        } else {
          const uint32_t word = packed[r * k.cols / 8 + c / 8];
          int nibble = 0;
          while (kAwqOrder[nibble] != static_cast<int>(c % 8)) ++nibble;
          q = (word >> (4 * nibble)) & 0xF;
        }
        const uint64_t g = (r / k.group) * k.cols + c;
        const float want = (static_cast<float>(q) - zeros[g]) * scales[g];
        CAPTURE(r);
        CAPTURE(c);
        CHECK(std::memcmp(&out[r * k.cols + c], &want, 4) == 0);
      }
    }
    // The source-oriented blocks compare (16 columns at a time, every row) give the same floats.
    if (k.bits == 3) {
      CHECK_FALSE(ckd::decodes_column_blocks(m));  // values straddle words: decoded by rows
      continue;
    }
    REQUIRE(ckd::decodes_column_blocks(m));
    const uint64_t stride = k.rows + 3;
    for (uint64_t c0 = 0; c0 < k.cols; c0 += 16) {
      const uint64_t width = std::min<uint64_t>(16, k.cols - c0);
      std::vector<float> block(width * stride, -1.0f);
      ckd::decode_column_block(m, scales, zeros, codes, c0, width, block.data(), stride);
      bool same = true;
      for (uint64_t c = 0; c < width; ++c) {
        for (uint64_t r = 0; r < k.rows; ++r)
          same &= std::memcmp(&block[c * stride + r], &out[r * k.cols + c0 + c], 4) == 0;
      }
      CAPTURE(c0);
      CHECK(same);
    }
  }
}

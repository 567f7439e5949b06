// ckptdoctor compare against an independent oracle: scripts/make_compare_oracle.py quantized a
// BF16 source into each format with numpy and ml_dtypes and computed every module's errors with
// its own dequantizer (fixtures/compare/expected.json). The C++ decoders must agree.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "compare/compare.h"
#include "compare/error_sums.h"
#include "compare/layout.h"
#include "compare/pairing.h"
#include "compare/quantized_matrix.h"
#include "numerics/float_decode.h"
#include "report/compare_html.h"
#include "rules/rule_set.h"
#include "test_util.h"

namespace {

using ckd_test::find_module;

const std::string kDir = std::string(CKD_SOURCE_DIR) + "/fixtures/compare/";

const ckd::Rule& roundtrip_rule() {
  static const ckd::RuleSet rules = ckd::RuleSet::builtin();
  return *rules.find("roundtrip-error");
}

ckd::CompareReport compare(const std::string& quant, uint64_t chunk_elements = 1u << 20,
                           const std::string& source = "source") {
  ckd::CompareRequest r;
  r.quant_dir = quant;
  r.source_dir = kDir + source;
  r.rule = &roundtrip_rule();
  r.chunk_elements = chunk_elements;
  return ckd::run_compare(r);
}

}  // namespace

TEST_CASE("compare: every format's errors equal the numpy/ml_dtypes oracle's") {
  nlohmann::json expected = nlohmann::json::parse(std::ifstream(kDir + "expected.json"));
  REQUIRE(expected.size() >= 18);  // every variant the oracle wrote
  for (const auto& [variant, entry] : expected.items()) {
    CAPTURE(variant);
    const nlohmann::json& modules = entry["modules"];
    ckd::CompareReport report = compare(kDir + variant, 1u << 20, entry["source"]);
    CHECK(report.tensors.size() == modules.size());
    for (const auto& [module, want] : modules.items()) {
      CAPTURE(module);
      const ckd::ModuleError* got = find_module(report, module);
      REQUIRE(got != nullptr);
      double rel = want["rel_error"].get<double>(), max_abs = want["max_abs_error"].get<double>();
      CHECK(got->rel_error == doctest::Approx(rel).epsilon(1e-9));
      CHECK(got->max_abs_error == doctest::Approx(max_abs).epsilon(1e-12));
      CHECK(got->elements > 0);
    }
  }
}

TEST_CASE("compare: healthy exports pass with margin, the defects fail (roundtrip-error)") {
  nlohmann::json expected = nlohmann::json::parse(std::ifstream(kDir + "expected.json"));
  for (const auto& [variant, entry] : expected.items()) {
    if (variant.ends_with("-broken")) continue;
    CAPTURE(variant);
    ckd::CompareReport r = compare(kDir + variant, 1u << 20, entry["source"]);
    CHECK(r.failed == 0);
    CHECK(r.tensors.size() == entry["modules"].size());
    for (const auto& e : r.tensors) CHECK(e.rel_error < e.limit / 2);
  }
  ckd::CompareReport broken = compare(kDir + "modelopt-nvfp4-broken");
  CHECK(broken.failed == 2);
  // Failures come first, worst first: the inverted global scale, then the swapped nibbles.
  REQUIRE(broken.tensors.size() >= 2);
  CHECK(broken.tensors[0].module == "model.layers.0.self_attn.q_proj");
  CHECK(broken.tensors[0].rel_error > 1e6);
  CHECK(broken.tensors[1].module == "model.layers.1.self_attn.o_proj");
  CHECK(broken.tensors[1].rel_error > 1.0);
  CHECK_FALSE(broken.tensors[1].passed);
  CHECK(broken.tensors[2].passed);
  CHECK(broken.by_format.at("nvfp4").failed == 2);
  CHECK(broken.by_layer.at("0").failed == 1);
  CHECK(broken.by_layer.at("1").failed == 1);
}

TEST_CASE("compare: streaming in chunks does not change a result") {
  for (auto [variant, source] :
       {std::pair{"ct-nvfp4", "source"}, std::pair{"gpt-oss-mxfp4", "source-transposed"},
        std::pair{"vl-fp8-block", "source-transposed"}}) {
    CAPTURE(variant);
    ckd::CompareReport whole = compare(kDir + variant, 1u << 20, source);
    ckd::CompareReport chunked = compare(kDir + variant, 7, source);  // one row per chunk
    REQUIRE(whole.tensors.size() == chunked.tensors.size());
    for (size_t i = 0; i < whole.tensors.size(); ++i) {
      CHECK(whole.tensors[i].module == chunked.tensors[i].module);
      CHECK(whole.tensors[i].rel_error == chunked.tensors[i].rel_error);
      CHECK(whole.tensors[i].max_abs_error == chunked.tensors[i].max_abs_error);
    }
  }
}

TEST_CASE("compare: the thread count does not change a result") {
  auto run = [](int threads) {
    ckd::CompareRequest r;
    r.quant_dir = kDir + "modelopt-nvfp4";
    r.source_dir = kDir + "source";
    r.rule = &roundtrip_rule();
    r.threads = threads;
    r.device = "cpu";
    return ckd::run_compare(r);
  };
  ckd::CompareReport one = run(1), three = run(3);
  REQUIRE(one.tensors.size() == three.tensors.size());
  REQUIRE(!one.tensors.empty());
  for (size_t i = 0; i < one.tensors.size(); ++i) {
    CHECK(one.tensors[i].module == three.tensors[i].module);
    CHECK(one.tensors[i].rel_error == three.tensors[i].rel_error);  // bit for bit
    CHECK(one.tensors[i].max_abs_error == three.tensors[i].max_abs_error);
  }
}

TEST_CASE("compare: unpaired modules are listed with the reason, fused experts are sliced") {
  ckd::CompareReport r = compare(kDir + "fp8-block");
  REQUIRE(r.unpaired.size() == 1);
  CHECK(r.unpaired[0].module == "model.layers.0.self_attn.k_proj");
  CHECK(r.unpaired[0].reason.find("no source tensor") != std::string::npos);
  const ckd::ModuleError* up = find_module(r, "model.layers.1.mlp.experts.2.up_proj");
  REQUIRE(up != nullptr);
  CHECK(up->source == "model.layers.1.mlp.experts.gate_up_proj[2][up]");
  // Transposed fused sources: per-expert modules (Qwen3-VL-MoE) and gpt-oss's fused experts.
  ckd::CompareReport vl = compare(kDir + "vl-fp8-block", 1u << 20, "source-transposed");
  CHECK(vl.unpaired.size() == 2);  // o_proj: not in that source
  const ckd::ModuleError* vl_up = find_module(vl, "model.layers.0.mlp.experts.3.up_proj");
  REQUIRE(vl_up != nullptr);
  CHECK(vl_up->source == "model.layers.0.mlp.experts.gate_up_proj[3][up]");
  ckd::CompareReport oss = compare(kDir + "gpt-oss-mxfp4", 1u << 20, "source-transposed");
  CHECK(oss.unpaired.empty());
  REQUIRE(oss.tensors.size() == 4);
  const ckd::ModuleError* fused = find_module(oss, "model.layers.1.mlp.experts.gate_up_proj");
  REQUIRE(fused != nullptr);
  CHECK(fused->elements == 4 * 64 * 128);
  CHECK(fused->format == "mxfp4");
}

TEST_CASE("compare: a NaN in the decoded weight fails however small the error") {
  ckd_test::TempDir tmp;
  std::filesystem::copy(kDir + "fp8-block", tmp.path(), std::filesystem::copy_options::recursive);
  std::string shard = tmp.path() + "/model.safetensors";
  {
    auto ck = ckd::Checkpoint::open(tmp.path());
    const ckd::TensorRef* w = ck->find("model.layers.0.self_attn.o_proj.weight");
    REQUIRE(w != nullptr);
    uint64_t at = w->shard->data_start() + w->info->begin + 5;
    std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(at));
    f.put(static_cast<char>(0x7F));  // E4M3 NaN
  }
  ckd::CompareReport r = compare(tmp.path());
  const ckd::ModuleError* e = find_module(r, "model.layers.0.self_attn.o_proj");
  REQUIRE(e != nullptr);
  CHECK(e->nan == 1);
  CHECK(e->rel_error < 0.05);
  CHECK_FALSE(e->passed);
  CHECK(r.failed == 1);
}

TEST_CASE("scale grids: the shapes each writer uses") {
  ckd::QuantizedMatrix m;
  m.rows = 576;
  m.cols = 7168;
  CHECK(ckd::fit_scale_grid(m, {5, 56}, 128, 128).empty());  // DeepSeek kv_a_proj, partial blocks
  CHECK((m.block_rows == 128 && m.block_cols == 128 && m.scale_rows == 5 && m.scale_cols == 56));
  CHECK(ckd::fit_scale_grid(m, {}, 0, 0).empty());  // modelopt per-tensor, 0-d
  CHECK((m.block_rows == 576 && m.block_cols == 7168));
  CHECK(ckd::fit_scale_grid(m, {1}, 0, 0).empty());       // compressed-tensors tensor: [1]
  CHECK(ckd::fit_scale_grid(m, {576, 1}, 0, 0).empty());  // channel
  CHECK((m.block_rows == 1 && m.block_cols == 7168));
  CHECK(ckd::fit_scale_grid(m, {576}, 0, 0).empty());        // modelopt per-channel [out]
  CHECK(ckd::fit_scale_grid(m, {576, 448}, 0, 16).empty());  // NVFP4 groups of 16
  CHECK((m.block_rows == 1 && m.block_cols == 16));
  m.rows = 512;
  m.cols = 1024;
  CHECK(ckd::fit_scale_grid(m, {4, 1, 8, 1}, 0, 0).empty());  // modelopt FP8_PB_WO
  CHECK((m.block_rows == 128 && m.block_cols == 128));
  CHECK_FALSE(ckd::fit_scale_grid(m, {3, 8}, 0, 0).empty());  // 3 row blocks tile nothing here
  CHECK_FALSE(ckd::fit_scale_grid(m, {100}, 0, 0).empty());
  CHECK_FALSE(ckd::fit_scale_grid(m, {2, 2, 2}, 0, 0).empty());
}

TEST_CASE("layer_of") {
  CHECK(ckd::layer_of("model.layers.12.mlp.down_proj") == "12");
  CHECK(ckd::layer_of("model.language_model.layers.3.self_attn.q_proj") == "3");
  CHECK(ckd::layer_of("lm_head") == "other");
  CHECK(ckd::layer_of("model.sublayers.4.x") == "other");
}

TEST_CASE("module_type folds layers and expert indices (the heatmap's columns)") {
  CHECK(ckd::module_type("model.layers.3.mlp.experts.17.gate_proj") == "mlp.experts.*.gate_proj");
  CHECK(ckd::module_type("model.language_model.layers.0.self_attn.q_proj") == "self_attn.q_proj");
  CHECK(ckd::module_type("lm_head") == "lm_head");
}

TEST_CASE("heatmap columns follow a transformer block, not the alphabet") {
  std::vector<std::string> types = {"mlp.experts.*.down_proj", "self_attn.o_proj",
                                    "mlp.down_proj",           "lm_head",
                                    "mlp.up_proj",             "self_attn.v_proj",
                                    "mlp.experts.*.gate_proj", "mlp.gate_proj",
                                    "self_attn.k_proj",        "mlp.shared_expert.up_proj",
                                    "mlp.experts.*.up_proj",   "self_attn.q_proj"};
  std::sort(types.begin(), types.end(), ckd::module_type_before);
  CHECK(types == std::vector<std::string>{
                     "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                     "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
                     "mlp.shared_expert.up_proj", "mlp.experts.*.gate_proj",
                     "mlp.experts.*.up_proj", "mlp.experts.*.down_proj", "lm_head"});
}

TEST_CASE("integer packings: dense (straddling words) and the older 32/bits per word") {
  // Twelve 3-bit values 0..7,0..3 packed both ways into little-endian int32 words.
  std::vector<uint32_t> values = {0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3};
  uint64_t dense_bits = 0;  // 36 bits: word 0 holds elements 0-9 and the low 2 bits of 10
  for (size_t i = 0; i < values.size(); ++i) dense_bits |= uint64_t{values[i]} << (3 * i);
  unsigned char dense[8];
  for (int b = 0; b < 8; ++b) dense[b] = static_cast<unsigned char>(dense_bits >> (8 * b));
  uint32_t legacy_words[2] = {0, 0};  // 10 per word, bits 30-31 unused
  for (size_t i = 0; i < values.size(); ++i) legacy_words[i / 10] |= values[i] << (3 * (i % 10));
  unsigned char legacy[8];
  std::memcpy(legacy, legacy_words, 8);
  for (size_t i = 0; i < values.size(); ++i) {
    CAPTURE(i);
    CHECK(ckd::unpack_bits(dense, i, 3, true) == values[i]);
    CHECK(ckd::unpack_bits(legacy, i, 3, false) == values[i]);
  }
  CHECK(std::memcmp(dense, legacy, 8) != 0);  // the layouts really differ for 3 bits
}

// The AVX2 decoders (bit placement and a power-of-two product) and the portable loops against
// the tables, which tests/test_float_decode.cpp checks against ml_dtypes: every code, in whole
// vectors and in the scalar tails of partial blocks, with a different scale per block.
TEST_CASE("compare: the AVX2 and portable decoders give the tables' value for every code") {
  for (auto [coding, avx2] : {std::pair{ckd::ElementCoding::kF8E4M3, true},
                              std::pair{ckd::ElementCoding::kE2M1Packed, true},
                              std::pair{ckd::ElementCoding::kF8E4M3, false},
                              std::pair{ckd::ElementCoding::kE2M1Packed, false}}) {
    const bool fp4 = coding == ckd::ElementCoding::kE2M1Packed;
    CAPTURE(fp4);
    CAPTURE(avx2);  // where the CPU has no AVX2, both runs take the portable loops
    ckd::use_avx2_decode(avx2);
    ckd::QuantizedMatrix m;
    m.coding = coding;
    m.rows = 1;
    m.cols = fp4 ? 2 * 256 + 6 : 256 + 5;   // a partial last block
    m.block_cols = fp4 ? 22 : 24;             // tails inside every block
    m.scale_cols = (m.cols + m.block_cols - 1) / m.block_cols;
    std::vector<float> scales(m.scale_cols), zeros(m.scale_cols, 0.0f);
    for (size_t j = 0; j < scales.size(); ++j) scales[j] = 0.37f * static_cast<float>(j + 1);
    scales[1] = 1e-30f;  // products in the float subnormals
    std::string codes(m.code_bytes_per_row(), '\0');
    for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<char>(i * 7 % 256);
    std::vector<float> out(m.cols);
    ckd::decode_rows(m, scales, zeros, codes, 0, 1, out.data());
    for (uint64_t c = 0; c < m.cols; ++c) {
      const auto byte = static_cast<unsigned char>(codes[fp4 ? c / 2 : c]);
      const float want = (fp4 ? ckd::e2m1_table()[c % 2 ? byte >> 4 : byte & 0x0F]
                              : ckd::f8_e4m3fn_table()[byte]) *
                         scales[c / m.block_cols];
      CAPTURE(c);
      if (std::isnan(want)) {
        CHECK(std::isnan(out[c]));
      } else {
        CHECK(std::memcmp(&out[c], &want, 4) == 0);  // bit for bit, signed zeros included
      }
    }
  }
  ckd::use_avx2_decode(true);
}

// GPTQ and AWQ GEMM store [in, out] and are read against the [out, in] source a piece of rows
// at a time: the tiled gather must give every element of the transposed view, for element
// sizes with and without a fast path, pieces that start anywhere and end inside a tile.
TEST_CASE("compare: the transposed source is gathered element for element") {
  for (uint64_t esz : {1u, 2u, 4u, 8u}) {
    for (auto [cols, ld] : {std::pair<uint64_t, uint64_t>{37, 300}, {64, 256}, {1, 5}}) {
      std::vector<unsigned char> block(cols * ld * esz);
      for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<unsigned char>(i * 31 + i / 7);
      for (auto [r, n] : {std::pair<uint64_t, uint64_t>{0, ld}, {3, ld - 3}, {129, 1}, {1, 130}}) {
        if (r + n > ld) continue;
        CAPTURE(esz);
        CAPTURE(cols);
        CAPTURE(r);
        CAPTURE(n);
        std::vector<unsigned char> out(n * cols * esz, 0xEE);
        ckd::gather_transposed_rows(reinterpret_cast<const char*>(block.data()), ld, cols, r, n,
                                    esz, reinterpret_cast<char*>(out.data()));
        bool same = true;
        for (uint64_t i = 0; i < n; ++i) {
          for (uint64_t c = 0; c < cols; ++c)
            same &= std::memcmp(&out[(i * cols + c) * esz], &block[(c * ld + r + i) * esz], esz) == 0;
        }
        CHECK(same);
      }
    }
  }
}

// The sums run 8 lanes at a time and fall back to an element-by-element path for a row that
// holds a NaN or an Inf; both must give the same sums bit for bit, so a non-finite element
// changes only what it must (its own exclusion).
TEST_CASE("compare: error sums are the same on the vector and the careful path") {
  const uint64_t cols = 8 * 5 + 3;
  std::vector<float> decoded(cols), source(cols);
  for (uint64_t c = 0; c < cols; ++c) {
    source[c] = std::sin(static_cast<float>(c) + 0.5f);
    decoded[c] = source[c] * (1.0f + 0.01f * static_cast<float>(c % 7));
  }
  // Element 13 is 0 in both (adds exactly 0 to every sum) for the vector path, and NaN in the
  // source for the careful one, which leaves it out.
  decoded[13] = source[13] = 0.0f;
  ckd::ErrorSums fast, careful;
  fast.add_row(decoded.data(), source.data(), cols);
  fast.add_row(decoded.data(), source.data(), cols);
  std::vector<float> d2(decoded), s2(source);
  s2[13] = NAN;
  careful.add_row(d2.data(), s2.data(), cols);
  careful.add_row(d2.data(), s2.data(), cols);
  CHECK(careful.source_nan == 2);
  CHECK(careful.measured + 2 == fast.measured);
  CHECK(careful.diff2_total() == fast.diff2_total());
  CHECK(careful.ref2_total() == fast.ref2_total());
  CHECK(careful.max_abs == fast.max_abs);
  CHECK(fast.diff2_total() > 0);
  // A decoded Inf: counted, out of the sums.
  s2[13] = 2.0f;
  d2[13] = INFINITY;
  ckd::ErrorSums inf;
  inf.add_row(d2.data(), s2.data(), cols);
  CHECK(inf.inf == 1);
  CHECK(inf.measured == cols - 1);
}

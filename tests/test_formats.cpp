// The weight-format table (numerics/formats.h) and the GPTQ / AWQ declaration readers: every
// format has exactly one row, the rows agree with what compare and scan read, and the packed
// layouts give back the producers' logical shapes.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "checkpoint/quant_scheme.h"
#include "numerics/formats.h"
#include "rules/rule_set.h"

using ckd::Dtype;
using ckd::QuantMethod;
using ckd::WeightFormat;
using nlohmann::json;

TEST_CASE("format table: one row per weight format, in enum order, names unique") {
  std::set<std::string> names;
  int expected = 1;  // kNone has no row
  for (const ckd::WeightFormatTraits& row : ckd::weight_formats()) {
    CAPTURE(row.name);
    CHECK(static_cast<int>(row.format) == expected++);
    CHECK(ckd::format_traits(row.format) == &row);
    CHECK(std::string(ckd::weight_format_name(row.format)) == row.name);
    CHECK(names.insert(row.name).second);
    CHECK_FALSE(row.weight_dtypes.empty());
    CHECK_FALSE(row.weight_dtypes_text.empty());
    // Only unquantized 2:4 sparse values are stored without any scale.
    CHECK((!row.block_scale_dtypes.empty() || row.format == WeightFormat::kSparse24));
    CHECK_FALSE(row.declared_by.empty());
    CHECK_FALSE(row.limit_key.empty());
    // What compare decodes runs on CUDA too, or its coding says it does not (CPU fallback).
    if (row.decoder == ckd::CompareDecoder::kNone) CHECK_FALSE(ckd::cuda_decodes(row.coding));
    if (row.decoder != ckd::CompareDecoder::kNone)
      CHECK((ckd::cuda_decodes(row.coding) || ckd::cuda_fallback_reason(row.coding) != nullptr));
    CHECK((ckd::cuda_decodes(row.coding) == (ckd::cuda_fallback_reason(row.coding) == nullptr)));
  }
  CHECK(expected == static_cast<int>(WeightFormat::kUnknown));
  CHECK(ckd::format_traits(WeightFormat::kNone) == nullptr);
  CHECK(ckd::format_traits(WeightFormat::kUnknown) == nullptr);
}

TEST_CASE("format table: every format compare decodes has a roundtrip limit") {
  const ckd::RuleSet rules = ckd::RuleSet::builtin();
  const json& limits = rules.find("roundtrip-error")->params["max_rel_error"];
  for (const ckd::WeightFormatTraits& row : ckd::weight_formats()) {
    CAPTURE(row.name);
    for (int bits : {2, 3, 4, 8}) {
      if (!row.limit_key.ends_with('*') && bits != 4) continue;
      std::string key = row.limit_key_for(bits);
      CAPTURE(key);
      // Formats compare does not decode yet still name the limit they will use.
      CHECK(limits.contains(key));
    }
  }
}

TEST_CASE("format table: global scale directions are the producers'") {
  const auto* nvfp4 = ckd::format_traits(WeightFormat::kNvfp4);
  REQUIRE(nvfp4);
  CHECK(nvfp4->global_scales[0].name == "weight_scale_2");  // modelopt: multiplier
  CHECK(nvfp4->global_scales[0].op == ckd::GlobalScaleOp::kMultiply);
  CHECK(nvfp4->global_scales[1].name == "weight_global_scale");  // compressed-tensors: divisor
  CHECK(nvfp4->global_scales[1].op == ckd::GlobalScaleOp::kDivide);
  for (const auto& row : ckd::weight_formats()) {
    if (row.format == WeightFormat::kNvfp4) continue;
    CAPTURE(row.name);
    CHECK(row.global_scales[0].name.empty());
  }
}

TEST_CASE("format table: packed layouts give the logical [out, in]") {
  auto logical = [](WeightFormat f, Dtype d, int bits, uint64_t rows, uint64_t cols) {
    return ckd::logical_matrix(*ckd::format_traits(f), d, bits, rows, cols);
  };
  // GPTQ qweight [in*bits/32, out]; 3-bit values straddle words, so 32 inputs take 3 words.
  auto g4 = logical(WeightFormat::kGptq, Dtype::kI32, 4, 32, 512);
  REQUIRE(g4);
  CHECK(g4->out == 512);
  CHECK(g4->in == 256);
  auto g3 = logical(WeightFormat::kGptq, Dtype::kI32, 3, 24, 256);
  REQUIRE(g3);
  CHECK(g3->in == 256);
  CHECK_FALSE(logical(WeightFormat::kGptq, Dtype::kI32, 3, 25, 256));  // 800/3 values
  auto g2 = logical(WeightFormat::kGptq, Dtype::kI32, 2, 16, 256);
  REQUIRE(g2);
  CHECK(g2->in == 256);
  // AWQ GEMM qweight [in, out/8]; GEMV [out, in/8].
  auto gemm = logical(WeightFormat::kAwqGemm, Dtype::kI32, 4, 256, 64);
  REQUIRE(gemm);
  CHECK(gemm->out == 512);
  CHECK(gemm->in == 256);
  auto gemv = logical(WeightFormat::kAwqGemv, Dtype::kI32, 4, 512, 32);
  REQUIRE(gemv);
  CHECK(gemv->out == 512);
  CHECK(gemv->in == 256);
  // NVFP4: two codes per U8 byte; an F4 tensor holds one per element.
  CHECK(logical(WeightFormat::kNvfp4, Dtype::kU8, 4, 256, 128)->in == 256);
  CHECK(logical(WeightFormat::kNvfp4, Dtype::kF4, 4, 256, 256)->in == 256);
  // A shape that overflows when unpacked is refused, not wrapped.
  CHECK_FALSE(logical(WeightFormat::kGptq, Dtype::kI32, 4, uint64_t{1} << 62, 8));
}

TEST_CASE("format table: dtype sets") {
  const auto* gptq = ckd::format_traits(WeightFormat::kGptq);
  CHECK(gptq->weight_dtypes.contains(Dtype::kI32));
  CHECK_FALSE(gptq->weight_dtypes.contains(Dtype::kU8));
  CHECK(gptq->block_scale_dtypes.names() == "F16 or BF16");
  CHECK(ckd::format_traits(WeightFormat::kMxfp4)->block_scale_dtypes.names() == "U8 or F8_E8M0");
}

namespace {

ckd::QuantScheme scheme_of(json qc) {
  json config = {{"model_type", "qwen2"}, {"quantization_config", std::move(qc)}};
  return ckd::parse_quant_scheme(&config, nullptr);
}

}  // namespace

TEST_CASE("gptq declaration: Qwen2.5-7B-Instruct-GPTQ-Int4 style config") {
  auto s = scheme_of(json::parse(R"({"bits": 4, "group_size": 128, "damp_percent": 0.01,
      "desc_act": false, "static_groups": false, "sym": true, "true_sequential": true,
      "model_name_or_path": null, "model_file_base_name": "model", "quant_method": "gptq"})"));
  CHECK(s.method == QuantMethod::kGptq);
  REQUIRE(s.groups.size() == 1);
  CHECK(s.groups[0].format == WeightFormat::kGptq);
  CHECK(s.groups[0].bits == 4);
  CHECK(s.groups[0].group_size == 128);
  CHECK(s.groups[0].zero_offset == 1);  // no checkpoint_format: v1 (zero - 1 stored)
  CHECK_FALSE(s.groups[0].act_order);
  CHECK(s.problems.empty());
}

TEST_CASE("gptq declaration: gptq_v2, desc_act, group_size -1, 3 bits") {
  auto s = scheme_of(json::parse(R"({"quant_method": "gptq", "bits": 3, "group_size": -1,
      "desc_act": true, "sym": false, "checkpoint_format": "gptq_v2"})"));
  REQUIRE(s.groups.size() == 1);
  CHECK(s.groups[0].bits == 3);
  CHECK(s.groups[0].group_size == 0);
  CHECK(s.groups[0].act_order);
  CHECK_FALSE(s.groups[0].symmetric);
  CHECK(s.groups[0].zero_offset == 0);
}

TEST_CASE("gptq declaration: what the packing cannot hold is a problem, not a guess") {
  auto five = scheme_of(json::parse(R"({"quant_method": "gptq", "bits": 5, "group_size": 128})"));
  CHECK(five.groups[0].format == WeightFormat::kUnknown);
  REQUIRE(five.problems.size() == 1);
  CHECK(five.problems[0].find("bits 5") != std::string::npos);
  auto group = scheme_of(json::parse(R"({"quant_method": "gptq", "bits": 4, "group_size": 0})"));
  CHECK(group.groups[0].format == WeightFormat::kUnknown);
  auto marlin = scheme_of(
      json::parse(R"({"quant_method": "gptq", "bits": 4, "checkpoint_format": "marlin"})"));
  CHECK(marlin.groups[0].format == WeightFormat::kUnknown);
  CHECK_FALSE(marlin.problems.empty());
  auto int16 =
      scheme_of(json::parse(R"({"quant_method": "gptq", "bits": 4, "pack_dtype": "int16"})"));
  CHECK(int16.groups[0].format == WeightFormat::kUnknown);
  CHECK_FALSE(int16.problems.empty());
  auto int32 =
      scheme_of(json::parse(R"({"quant_method": "gptq", "bits": 4, "pack_dtype": "int32"})"));
  CHECK(int32.groups[0].format == WeightFormat::kGptq);
  CHECK(int32.problems.empty());
}

TEST_CASE("gptq declaration: GPTQModel dynamic overrides and exclusions") {
  auto s = scheme_of(json::parse(R"({"quant_method": "gptq", "bits": 4, "group_size": 128,
      "dynamic": {"+:.*\\.down_proj": {"bits": 8, "group_size": 32}, "-:.*\\.mlp\\.gate$": {}}})"));
  REQUIRE(s.groups.size() == 2);
  const ckd::QuantGroup* down = s.group_for("model.layers.0.mlp.down_proj", true);
  REQUIRE(down);
  CHECK(down->bits == 8);
  CHECK(down->group_size == 32);
  CHECK(s.group_for("model.layers.0.mlp.up_proj", true)->bits == 4);
  CHECK(s.ignored_by("model.layers.0.mlp.gate", true) != nullptr);
}

TEST_CASE("awq and auto-round declarations") {
  auto awq = scheme_of(json::parse(R"({"bits": 4, "group_size": 128,
      "modules_to_not_convert": null, "quant_method": "awq", "version": "gemm",
      "zero_point": true})"));
  CHECK(awq.method == QuantMethod::kAwq);
  CHECK(awq.groups[0].format == WeightFormat::kAwqGemm);
  CHECK_FALSE(awq.groups[0].symmetric);
  auto gemv = scheme_of(json::parse(R"({"quant_method": "awq", "version": "GEMV", "w_bit": 4,
      "q_group_size": 64})"));
  CHECK(gemv.groups[0].format == WeightFormat::kAwqGemv);
  CHECK(gemv.groups[0].group_size == 64);
  auto eight = scheme_of(json::parse(R"({"quant_method": "awq", "bits": 8})"));
  CHECK(eight.groups[0].format == WeightFormat::kUnknown);
  auto round = scheme_of(json::parse(R"({"quant_method": "auto-round", "packing_format":
      "auto_round:auto_gptq", "bits": 4, "group_size": 128, "sym": true})"));
  CHECK(round.method == QuantMethod::kGptq);
  CHECK(round.groups[0].zero_offset == 1);
  auto round_awq = scheme_of(json::parse(R"({"quant_method": "auto-round", "packing_format":
      "auto_awq", "bits": 4, "group_size": 128})"));
  CHECK(round_awq.method == QuantMethod::kAwq);
  auto other = scheme_of(json::parse(R"({"quant_method": "auto-round", "bits": 4})"));
  CHECK(other.method == QuantMethod::kUnknown);
}

TEST_CASE("packed_value: a little-endian int32 bit stream, 3-bit values straddling words") {
  // Ten 3-bit values fill bits 0..29 of word 0; value 10 takes bits 30-31 of word 0 and bit 0
  // of word 1 (GPTQ's 3-bit packing).
  std::string bytes(8, '\0');
  auto put = [&](uint64_t i, uint32_t v) {
    for (int b = 0; b < 3; ++b) {
      if (v >> b & 1u) {
        uint64_t bit = i * 3 + static_cast<uint64_t>(b);
        bytes[bit / 8] =
            static_cast<char>(static_cast<unsigned char>(bytes[bit / 8]) | 1u << (bit % 8));
      }
    }
  };
  put(0, 5);
  put(10, 7);
  put(11, 2);
  CHECK(ckd::packed_value(bytes, 0, 3) == 5u);
  CHECK(ckd::packed_value(bytes, 1, 3) == 0u);
  CHECK(ckd::packed_value(bytes, 10, 3) == 7u);
  CHECK(ckd::packed_value(bytes, 11, 3) == 2u);
  CHECK(static_cast<unsigned char>(bytes[3]) == 0xC0);       // value 10's low bits: 30, 31
  CHECK((static_cast<unsigned char>(bytes[4]) & 1u) == 1u);  // and its high bit: word 1, bit 0
  CHECK(ckd::packed_value(bytes, 20, 3) == 0u);              // bits 60-62: the last whole value
  CHECK_FALSE(ckd::packed_value(bytes, 21, 3));              // would end past the 64 bits
  CHECK(ckd::packed_value(std::string("\x78\x56\x34\x12", 4), 7, 4) ==
        1u);  // 0x12345678, top nibble
}

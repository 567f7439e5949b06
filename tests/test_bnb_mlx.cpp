// bitsandbytes and MLX: declarations, the quant-state parser, the module table's names, and
// compare against the producers' own figures, fixtures/compare/expected-bnb-mlx.json (MLX: mlx
// itself, scripts/make_bnb_mlx_fixtures.py; bitsandbytes: bitsandbytes itself on the CPU,
// scripts/make_bnb_fixtures.py).
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "checkpoint/bnb_quant_state.h"
#include "checkpoint/checkpoint.h"
#include "checkpoint/module_table.h"
#include "checkpoint/quant_scheme.h"
#include "compare/compare.h"
#include "fix/fix_command.h"
#include "fixture/fixture.h"
#include "numerics/formats.h"
#include "rules/rule_set.h"
#include "test_util.h"

namespace {

using ckd_test::find_module;

using ckd::QuantMethod;
using ckd::WeightFormat;
using nlohmann::json;

const std::string kCompare = std::string(CKD_SOURCE_DIR) + "/fixtures/compare/";

json expected_errors() {
  return json::parse(std::ifstream(kCompare + "expected-bnb-mlx.json"));
}

ckd::CompareReport compare(const std::string& variant, uint64_t chunk_elements = 1u << 20) {
  static const ckd::RuleSet rules = ckd::RuleSet::builtin();
  ckd::CompareRequest r;
  r.quant_dir = kCompare + variant;
  r.source_dir = kCompare + "source";
  r.rule = rules.find("roundtrip-error");
  r.chunk_elements = chunk_elements;
  r.device = "cpu";
  return ckd::run_compare(r);
}

ckd::QuantScheme scheme(const json& config) {
  return ckd::parse_quant_scheme(&config, nullptr);
}

ckd::QuantScheme real_scheme(const std::string& name) {
  json c =
      json::parse(std::ifstream(std::string(CKD_SOURCE_DIR) + "/fixtures/real/configs/" + name));
  return scheme(c);
}

}  // namespace

TEST_CASE("bitsandbytes and MLX compare: errors equal the producers' own") {
  json expected = expected_errors();
  REQUIRE_FALSE(expected.empty());
  for (const auto& [variant, entry] : expected.items()) {
    CAPTURE(variant);
    ckd::CompareReport report = compare(variant);
    CHECK(report.undecodable.empty());
    CHECK(report.tensors.size() == entry["modules"].size());
    for (const auto& [module, want] : entry["modules"].items()) {
      CAPTURE(module);
      const ckd::ModuleError* got = find_module(report, module);
      REQUIRE(got != nullptr);
      CHECK(got->rel_error == doctest::Approx(want["rel_error"].get<double>()).epsilon(1e-9));
      CHECK(got->max_abs_error ==
            doctest::Approx(want["max_abs_error"].get<double>()).epsilon(1e-12));
    }
  }
}

TEST_CASE("bitsandbytes and MLX compare: healthy pass with margin, the defects fail") {
  json expected = expected_errors();
  for (const auto& [variant, entry] : expected.items()) {
    if (variant.ends_with("-broken")) continue;
    CAPTURE(variant);
    ckd::CompareReport r = compare(variant);
    CHECK(r.failed == 0);
    for (const auto& e : r.tensors) {
      CAPTURE(e.module);
      CHECK(e.rel_error < e.limit / 2);
    }
  }
  // NF4 codes whose quant state declares fp4: decoded with the FP4 code, as the kernels would.
  ckd::CompareReport nf4 = compare("bnb-nf4-broken");
  CHECK(nf4.failed == 1);
  REQUIRE_FALSE(nf4.tensors.empty());
  CHECK(nf4.tensors[0].module == "model.layers.0.self_attn.q_proj");
  CHECK(nf4.tensors[0].format == "bnb-nf4");
  CHECK(nf4.tensors[0].rel_error > 1.0);
  // MLX biases with the wrong sign.
  ckd::CompareReport mlx = compare("mlx-4bit-broken");
  CHECK(mlx.failed == 1);
  REQUIRE_FALSE(mlx.tensors.empty());
  CHECK(mlx.tensors[0].module == "model.layers.1.self_attn.q_proj");
  CHECK(mlx.tensors[0].rel_error > 1.0);
}

TEST_CASE("bitsandbytes compare: absmax blocks crossing rows survive row-by-row streaming") {
  // down_proj is [128, 32]: each 64-element absmax block spans two rows.
  for (const char* variant : {"bnb-nf4", "bnb-nf4-double", "bnb-int8", "mlx-3bit", "mlx-mixed"}) {
    CAPTURE(variant);
    ckd::CompareReport whole = compare(variant);
    ckd::CompareReport chunked = compare(variant, 7);  // one row per chunk
    REQUIRE(whole.tensors.size() == chunked.tensors.size());
    for (size_t i = 0; i < whole.tensors.size(); ++i) {
      CHECK(whole.tensors[i].module == chunked.tensors[i].module);
      CHECK(whole.tensors[i].rel_error == chunked.tensors[i].rel_error);
    }
  }
}

TEST_CASE("MLX compare: per-module bits and group sizes, a module left in BF16") {
  ckd::CompareReport r = compare("mlx-mixed");
  const ckd::ModuleError* six = find_module(r, "model.layers.0.self_attn.q_proj");
  REQUIRE(six != nullptr);
  CHECK(six->format == "mlx6");
  const ckd::ModuleError* two = find_module(r, "model.layers.0.mlp.experts.1.down_proj");
  REQUIRE(two != nullptr);
  CHECK(two->format == "mlx2");
  CHECK(find_module(r, "model.layers.1.self_attn.q_proj") == nullptr);  // "false": stored in BF16
}

TEST_CASE("bitsandbytes declaration: 4-bit nf4 / fp4, double quantization, 8-bit, skip list") {
  json c = {{"quantization_config",
             {{"quant_method", "bitsandbytes"},
              {"load_in_4bit", true},
              {"load_in_8bit", false},
              {"bnb_4bit_quant_type", "nf4"},
              {"bnb_4bit_use_double_quant", true},
              {"llm_int8_skip_modules", {"lm_head", "model.vision_backbone"}}}}};
  ckd::QuantScheme s = scheme(c);
  CHECK(s.method == QuantMethod::kBitsandbytes);
  REQUIRE(s.groups.size() == 1);
  CHECK(s.groups[0].format == WeightFormat::kBnbNf4);
  CHECK(s.groups[0].double_quant);
  CHECK(s.ignored_by("lm_head", true) != nullptr);
  CHECK(s.ignored_by("model.vision_backbone.image_vit.wq", true) != nullptr);
  CHECK(s.ignored_by("model.layers.0.mlp.down_proj", true) == nullptr);
  c["quantization_config"]["bnb_4bit_quant_type"] = "fp4";
  CHECK(scheme(c).groups[0].format == WeightFormat::kBnbFp4);
  c["quantization_config"]["load_in_4bit"] = false;
  c["quantization_config"]["load_in_8bit"] = true;
  CHECK(scheme(c).groups[0].format == WeightFormat::kBnbInt8);
  c["quantization_config"]["load_in_8bit"] = false;
  ckd::QuantScheme neither = scheme(c);
  CHECK(neither.groups[0].format == WeightFormat::kUnknown);
  CHECK_FALSE(neither.problems.empty());
  c["quantization_config"]["load_in_4bit"] = true;
  c["quantization_config"]["bnb_4bit_quant_storage"] = "bfloat16";
  CHECK(scheme(c).groups[0].format == WeightFormat::kUnknown);  // other storage: not modelled
  ckd::QuantScheme molmo = real_scheme("molmo-7b-d-bnb-nf4_config.json");
  CHECK(molmo.method == QuantMethod::kBitsandbytes);
  CHECK(molmo.groups[0].format == WeightFormat::kBnbNf4);
  CHECK_FALSE(molmo.groups[0].double_quant);
  CHECK(molmo.ignored_by("model.transformer.ff_out", true) != nullptr);
}

TEST_CASE("MLX declaration: top-level quantization, per-module overrides and false") {
  ckd::QuantScheme real = real_scheme("qwen3-14b-mlx-4bit_config.json");
  CHECK(real.method == QuantMethod::kMlx);
  REQUIRE(real.groups.size() == 1);
  CHECK(real.groups[0].format == WeightFormat::kMlxAffine);
  CHECK(real.groups[0].bits == 4);
  CHECK(real.groups[0].group_size == 64);
  json q = {{"group_size", 64},
            {"bits", 4},
            {"model.layers.0.mlp.down_proj", {{"group_size", 32}, {"bits", 8}}},
            {"lm_head", false}};
  ckd::QuantScheme s = scheme({{"quantization", q}, {"quantization_config", q}});
  const ckd::QuantGroup* down = s.group_for("model.layers.0.mlp.down_proj", true);
  REQUIRE(down != nullptr);
  CHECK(down->bits == 8);
  CHECK(down->group_size == 32);
  const ckd::QuantGroup* other = s.group_for("model.layers.1.mlp.down_proj", true);
  REQUIRE(other != nullptr);
  CHECK(other->bits == 4);
  CHECK(s.ignored_by("lm_head", true) != nullptr);
  for (const json& bad :
       {json{{"group_size", 64}, {"bits", 7}}, json{{"group_size", 48}, {"bits", 4}},
        json{{"group_size", 32}, {"bits", 4}, {"mode", "mxfp4"}}}) {
    CAPTURE(bad.dump());
    ckd::QuantScheme b = scheme({{"quantization", bad}});
    CHECK(b.method == QuantMethod::kMlx);
    CHECK(b.groups.back().format == WeightFormat::kUnknown);
    CHECK_FALSE(b.problems.empty());
  }
  // A Hugging Face quant_method wins over a leftover MLX block.
  ckd::QuantScheme hf = scheme(
      {{"quantization", q}, {"quantization_config", {{"quant_method", "gptq"}, {"bits", 4}}}});
  CHECK(hf.method == QuantMethod::kGptq);
}

TEST_CASE("bitsandbytes quant state: what bitsandbytes writes, and hostile bytes") {
  auto ok = ckd::parse_bnb_quant_state(
      R"({"quant_type": "nf4", "blocksize": 64, "dtype": "bfloat16", "shape": [4096, 11008], )"
      R"("nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": 0.03125})");
  REQUIRE(ok.state);
  CHECK(ok.state->quant_type == "nf4");
  CHECK(ok.state->numel == 4096ull * 11008ull);
  CHECK(ok.state->nested);
  CHECK(ok.state->nested_blocksize == 256);
  CHECK(ok.state->nested_offset == 0.03125f);
  for (
      std::string bad :
      {std::string("{"), std::string("[]"), std::string("{\"quant_type\": \"int4\"}"),
       std::string(R"({"quant_type": "fp4", "blocksize": 0, "shape": [2]})"),
       std::string(R"({"quant_type": "fp4", "blocksize": 64, "shape": [-2, 3]})"),
       std::string(
           R"({"quant_type": "fp4", "blocksize": 64, "shape": [4294967296, 4294967296, 4294967296]})"),
       std::string(R"({"quant_type": "fp4", "blocksize": 64, "shape": [1,1,1,1,1,1,1,1,1]})"),
       std::string(R"({"quant_type": "nf4", "blocksize": 64, "shape": [2], "nested_offset": "x"})"),
       std::string(5000, ' ')}) {
    CAPTURE(bad.substr(0, 80));
    auto r = ckd::parse_bnb_quant_state(bad);
    CHECK_FALSE(r.state);
    CHECK_FALSE(r.error.empty());
  }
}

TEST_CASE("module table: bitsandbytes and MLX tensors belong to their module") {
  auto split = [](std::string_view name) { return ckd::split_tensor_name(name); };
  CHECK(split("m.layers.0.q_proj.weight.absmax") ==
        std::pair<std::string_view, std::string_view>{"m.layers.0.q_proj", "weight.absmax"});
  CHECK(split("m.q_proj.weight.quant_state.bitsandbytes__nf4").second ==
        "weight.quant_state.bitsandbytes__nf4");
  CHECK(split("m.q_proj.weight.nested_quant_map").first == "m.q_proj");
  CHECK(split("m.q_proj.SCB").second == "SCB");
  CHECK(split("m.q_proj.biases").second == "biases");
  CHECK(ckd::role_of_param("weight.absmax", "m.q_proj") == ckd::TensorRole::kWeightScale);
  CHECK(ckd::role_of_param("biases", "m.q_proj") == ckd::TensorRole::kZeroPoint);
  // Not a bitsandbytes state: a module that happens to be called "absmax".
  CHECK(split("m.absmax.weight").first == "m.absmax");
}

namespace {

const std::string kSpecs = std::string(CKD_SOURCE_DIR) + "/fixtures/specs";

size_t count_rule(const ckd::ScanReport& r, const std::string& rule) {
  size_t n = 0;
  for (const ckd::Finding& f : r.findings) n += f.name == rule ? 1 : 0;
  return n;
}

// Builds `spec` (a base spec with every key under "model.model."), strips one "model." with fix,
// and returns the rescan of the output.
ckd::ScanReport strip_and_rescan(const json& spec, const std::string& tmp) {
  ckd::fixture::build_checkpoint(ckd::fixture::resolve_spec(spec, kSpecs), tmp + "/in");
  ckd::FixRequest r;
  r.dir = tmp + "/in";
  r.out_dir = tmp + "/out";
  r.options.strip_prefixes = {"model."};
  CHECK(ckd::run_fix(r).written);
  return ckd_test::scan_all_rules(tmp + "/out");
}

}  // namespace

TEST_CASE("fix strip-prefix: bitsandbytes weight.* states move with their weight") {
  ckd_test::TempDir tmp;
  json spec = {{"base", "base-bnb-nf4"},
               {"rename", json::array({json::array({"^model\\.", "model.model."})})}};
  ckd::ScanReport after = strip_and_rescan(spec, tmp.path());
  CHECK(after.errors == 0);
  CHECK(count_rule(after, "missing-quant-state") == 0);
  auto ck = ckd::Checkpoint::open(tmp.path() + "/out");
  const ckd::Module* m = ck->modules().find("model.layers.1.mlp.down_proj");
  REQUIRE(m != nullptr);
  CHECK(m->param("weight.absmax") != nullptr);
  CHECK(m->param("weight.quant_map") != nullptr);
  CHECK(ckd::bnb_quant_state_param(*m) != nullptr);
}

TEST_CASE("fix strip-prefix: MLX per-module overrides follow the module paths") {
  ckd_test::TempDir tmp;
  json over = {{"model.layers.1.mlp.down_proj", nullptr},
               {"model.model.layers.1.mlp.down_proj", {{"group_size", 32}, {"bits", 8}}}};
  json spec = {{"base", "base-mlx-4bit"},
               {"rename", json::array({json::array({"^model\\.", "model.model."})})},
               {"config", {{"quantization", over}, {"quantization_config", over}}}};
  ckd::ScanReport after = strip_and_rescan(spec, tmp.path());
  // down_proj of layer 1 is 8-bit only through its override: held to 4 bits, its scales would
  // not fit (scale-shape-mismatch).
  CHECK(after.errors == 0);
  CHECK(after.warnings == 0);
  std::ifstream in(tmp.path() + "/out/config.json");
  json config = json::parse(in);
  CHECK(config["quantization"].contains("model.layers.1.mlp.down_proj"));
  CHECK(config["quantization_config"].contains("model.layers.1.mlp.down_proj"));
}

TEST_CASE("fix rename: a bitsandbytes weight's states follow a rename written for the weight") {
  ckd_test::TempDir tmp;
  // Layer 0's q_proj saved as "qq_proj": weight and states alike.
  json spec = {
      {"base", "base-bnb-nf4"},
      {"rename",
       json::array({json::array({"(layers\\.0\\.self_attn)\\.q_proj\\.", "\\1.qq_proj."})})}};
  ckd::fixture::build_checkpoint(ckd::fixture::resolve_spec(spec, kSpecs), tmp.path() + "/in");
  ckd::FixRequest r;
  r.dir = tmp.path() + "/in";
  r.out_dir = tmp.path() + "/out";
  r.options.renames = {{"qq_proj\\.weight$", "q_proj.weight"}};  // anchored at the weight
  CHECK(ckd::run_fix(r).written);
  ckd::ScanReport after = ckd_test::scan_all_rules(tmp.path() + "/out");
  CHECK(after.errors == 0);
  auto ck = ckd::Checkpoint::open(tmp.path() + "/out");
  CHECK(ck->modules().find("model.layers.0.self_attn.qq_proj") == nullptr);
  const ckd::Module* m = ck->modules().find("model.layers.0.self_attn.q_proj");
  REQUIRE(m != nullptr);
  CHECK(m->param("weight.absmax") != nullptr);
  CHECK(ckd::bnb_quant_state_param(*m) != nullptr);
}

// fbgemm_fp8 and AMD Quark (issue 12): the declarations QuantScheme reads, the module table's
// names for Quark's and Devstral's scales, and compare's verdicts on the oracle fixtures'
// broken copies (the per-module figures are held to the oracle in test_compare.cpp).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoint/module_table.h"
#include "checkpoint/quant_scheme.h"
#include "compare/compare.h"
#include "rules/rule_set.h"

using ckd::InputActivations;
using ckd::QuantMethod;
using ckd::WeightFormat;
using nlohmann::json;

namespace {

ckd::QuantScheme scheme_of(const json& qc) {
  json config = {{"quantization_config", qc}};
  return ckd::parse_quant_scheme(&config, nullptr);
}

json quark_spec(const char* dtype, const char* qscheme, json extra = json::object()) {
  json spec = {{"dtype", dtype}, {"qscheme", qscheme}, {"is_dynamic", false}};
  spec.update(extra);
  return spec;
}

json quark_config(json weight, json input) {
  return {{"quant_method", "quark"},
          {"global_quant_config", {{"weight", weight}, {"input_tensors", input}}},
          {"layer_quant_config", json::object()},
          {"exclude", {"lm_head", "re:.*mlp\\.gate$", "*vision*"}},
          {"export", {{"kv_cache_group", json::array()}, {"pack_method", "reorder"}}}};
}

}  // namespace

TEST_CASE("fbgemm_fp8: FP8 per channel, dynamic activations, modules_to_not_convert") {
  auto s = scheme_of({{"quant_method", "fbgemm_fp8"},
                      {"activation_scale_ub", 1200.0},
                      {"modules_to_not_convert", {"lm_head"}}});
  CHECK(s.method == QuantMethod::kFbgemmFp8);
  REQUIRE(s.groups.size() == 1);
  CHECK(s.groups[0].format == WeightFormat::kFp8Channel);
  CHECK(s.groups[0].input == InputActivations::kDynamic);
  CHECK(s.invalid.empty());
  CHECK(s.ignored_by("lm_head", true) != nullptr);
  CHECK(s.group_for("model.layers.0.mlp.down_proj", true) == &s.groups[0]);

  // vLLM FBGEMMFp8Config.from_config requires both keys.
  auto missing = scheme_of({{"quant_method", "fbgemm_fp8"}});
  CHECK(missing.invalid.size() == 2);
  auto negative = scheme_of({{"quant_method", "fbgemm_fp8"},
                             {"activation_scale_ub", -1},
                             {"modules_to_not_convert", {}}});
  CHECK(negative.invalid.size() == 1);
}

TEST_CASE("quark: fp8 per_tensor / per_channel, OCP MXFP4, and what is not modelled") {
  json fp8 = quark_spec("fp8_e4m3", "per_tensor");
  auto tensor = scheme_of(quark_config(fp8, fp8));
  CHECK(tensor.method == QuantMethod::kQuark);
  REQUIRE(tensor.groups.size() == 1);
  CHECK(tensor.groups[0].format == WeightFormat::kFp8Tensor);
  CHECK(tensor.groups[0].input == InputActivations::kStatic);
  CHECK(tensor.problems.empty());

  auto channel = scheme_of(quark_config(quark_spec("fp8_e4m3", "per_channel"), json()));
  CHECK(channel.groups[0].format == WeightFormat::kFp8Channel);
  CHECK(channel.groups[0].input == InputActivations::kNone);

  json mx = quark_spec("fp4", "per_group", {{"group_size", 32}, {"scale_format", "e8m0"}});
  auto mxfp4 = scheme_of(quark_config(mx, mx));
  CHECK(mxfp4.groups[0].format == WeightFormat::kMxfp4);
  CHECK(mxfp4.groups[0].group_size == 32);

  // int4 per group and the two-level fp8 + int4 list are recorded, never guessed.
  auto int4 =
      scheme_of(quark_config(quark_spec("int4", "per_group", {{"group_size", 128}}), json()));
  CHECK(int4.groups[0].format == WeightFormat::kUnknown);
  CHECK(int4.problems.size() == 1);
  auto w4a8 = scheme_of(quark_config(json::array({fp8, quark_spec("int4", "per_channel")}), fp8));
  CHECK(w4a8.groups[0].format == WeightFormat::kUnknown);
}

TEST_CASE("quark: layer_quant_config overrides the global spec; exclude and kv_cache_group") {
  json fp8 = quark_spec("fp8_e4m3", "per_tensor");
  json qc = quark_config(fp8, fp8);
  qc["layer_quant_config"]["*down_proj"] = {{"weight", quark_spec("fp8_e4m3", "per_channel")}};
  qc["layer_quant_config"]["*k_proj"] = {{"weight", fp8},
                                         {"output_tensors", quark_spec("fp8_e4m3", "per_tensor")}};
  qc["export"]["kv_cache_group"] = {"*k_proj", "*v_proj"};
  auto s = scheme_of(qc);
  const ckd::QuantGroup* down = s.group_for("model.layers.0.mlp.down_proj", true);
  const ckd::QuantGroup* up = s.group_for("model.layers.0.mlp.up_proj", true);
  REQUIRE(down != nullptr);
  REQUIRE(up != nullptr);
  CHECK(down->format == WeightFormat::kFp8Channel);
  CHECK(up->format == WeightFormat::kFp8Tensor);
  CHECK(s.kv_cache);
  CHECK(s.kv_cache_key == "export.kv_cache_group");
  CHECK(s.kv_cache_strategy == "tensor");
  CHECK(s.problems.empty());
  // A per-channel KV cache is recorded: vLLM's QuarkKVCacheMethod refuses it.
  json per_channel = qc;
  per_channel["layer_quant_config"]["*k_proj"]["output_tensors"]["qscheme"] = "per_channel";
  auto refused = scheme_of(per_channel);
  CHECK(refused.kv_cache_strategy == "per_channel");
  CHECK(refused.problems.size() == 1);
  // Exact, "re:" (vLLM should_ignore_layer) and fnmatch globs (Quark's own patterns).
  CHECK(s.ignored_by("lm_head", true) != nullptr);
  CHECK(s.ignored_by("model.layers.3.mlp.gate", true) != nullptr);
  CHECK(s.ignored_by("model.vision_tower.blocks.0.attn.qkv", true) != nullptr);
  CHECK(s.ignored_by("model.layers.3.mlp.gate_proj", true) == nullptr);
}

TEST_CASE("module table: Quark quantizer names and Devstral's activation_scale") {
  using ckd::TensorRole;
  auto [module, param] =
      ckd::split_tensor_name("model.layers.0.mlp.down_proj.weight_quantizer.scale");
  CHECK(module == "model.layers.0.mlp.down_proj");
  CHECK(param == "weight_quantizer.scale");
  CHECK(ckd::role_of_param(param, module) == TensorRole::kWeightScale);
  CHECK(ckd::role_of_param("input_quantizer.scale", module) == TensorRole::kInputScale);
  CHECK(ckd::role_of_param("output_quantizer.scale", "x.k_proj") == TensorRole::kKvScale);
  CHECK(ckd::role_of_param("activation_scale", module) == TensorRole::kInputScale);
  // A module literally named like a quantizer parameter's first half is not split twice.
  auto [m2, p2] = ckd::split_tensor_name("model.layers.0.mlp.down_proj.weight");
  CHECK(m2 == "model.layers.0.mlp.down_proj");
  CHECK(p2 == "weight");
}

TEST_CASE("compare: the fbgemm_fp8 and Quark MXFP4 defects fail, their healthy copies pass") {
  static const ckd::RuleSet rules = ckd::RuleSet::builtin();
  const std::string dir = std::string(CKD_SOURCE_DIR) + "/fixtures/compare/";
  auto run = [&](const std::string& variant) {
    ckd::CompareRequest r;
    r.quant_dir = dir + variant;
    r.source_dir = dir + "source";
    r.rule = rules.find("roundtrip-error");
    return ckd::run_compare(r);
  };
  for (const char* healthy :
       {"fbgemm-fp8", "quark-fp8", "quark-fp8-channel-legacy", "quark-mxfp4"}) {
    CAPTURE(healthy);
    ckd::CompareReport report = run(healthy);
    CHECK(report.passed());
    CHECK(report.tensors.size() == 28);
    for (const auto& e : report.tensors) CHECK(e.rel_error < e.limit / 2);
  }
  // The reciprocal of one row scale vector (a divisor stored as the multiplier).
  ckd::CompareReport fbgemm = run("fbgemm-fp8-broken");
  CHECK(fbgemm.failed == 1);
  REQUIRE_FALSE(fbgemm.tensors.empty());
  CHECK(fbgemm.tensors[0].module == "model.layers.0.self_attn.q_proj");
  CHECK(fbgemm.tensors[0].format == "fp8");
  CHECK_FALSE(fbgemm.tensors[0].passed);
  // Swapped nibbles in one MXFP4 module.
  ckd::CompareReport mxfp4 = run("quark-mxfp4-broken");
  CHECK(mxfp4.failed == 1);
  REQUIRE_FALSE(mxfp4.tensors.empty());
  CHECK(mxfp4.tensors[0].module == "model.layers.1.self_attn.o_proj");
  CHECK(mxfp4.tensors[0].format == "mxfp4");
  CHECK(mxfp4.tensors[0].rel_error > 1.0);
}

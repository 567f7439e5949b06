// QuantScheme on real configs copied from the corpus (fixtures/real/configs) and on the
// matching semantics of each format's ignore lists.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoint/quant_scheme.h"

using ckd::InputActivations;
using ckd::QuantMethod;
using ckd::WeightFormat;
using nlohmann::json;

namespace {

json load(const std::string& name) {
  std::ifstream in(std::string(CKD_SOURCE_DIR) + "/fixtures/real/configs/" + name);
  REQUIRE_MESSAGE(in.good(), name);
  return json::parse(in);
}

ckd::QuantScheme scheme_of(const std::string& config, const std::string& hf_quant = "") {
  json c = load(config);
  if (hf_quant.empty()) return ckd::parse_quant_scheme(&c, nullptr);
  json h = load(hf_quant);
  return ckd::parse_quant_scheme(&c, &h);
}

}  // namespace

TEST_CASE("fp8 block: Qwen3-30B-A3B-FP8") {
  auto s = scheme_of("Qwen--Qwen3-30B-A3B-FP8_config.json");
  CHECK(s.method == QuantMethod::kFp8);
  REQUIRE(s.groups.size() == 1);
  CHECK(s.groups[0].format == WeightFormat::kFp8Block);
  CHECK((*s.groups[0].block == std::array<uint64_t, 2>{128, 128}));
  CHECK(s.groups[0].input == InputActivations::kDynamic);
  CHECK(s.ignore_key == "modules_to_not_convert");
  CHECK(s.ignored_by("model.layers.0.mlp.gate", true) != nullptr);
  CHECK(s.ignored_by("model.layers.0.mlp.gate_proj", true) == nullptr);  // no substring matching
  CHECK(s.group_for("model.layers.0.mlp.experts.3.down_proj", true) != nullptr);
}

TEST_CASE(
    "fp8 block with modules_to_not_convert under model.language_model: Qwen3.5-122B-A10B-FP8") {
  auto s = scheme_of("qwen3.5-122B-A10B-FP8_config.json");
  CHECK(s.method == QuantMethod::kFp8);
  CHECK(s.ignore.size() == 321);
  CHECK(s.problems.empty());
}

TEST_CASE("modelopt NVFP4 from hf_quant_config.json takes precedence: DeepSeek-V3.1-NVFP4") {
  auto s = scheme_of("nvidia--DeepSeek-V3.1-NVFP4_config.json",
                     "nvidia--DeepSeek-V3.1-NVFP4_hf_quant_config.json");
  CHECK(s.method == QuantMethod::kModelOpt);
  CHECK(s.source_file == "hf_quant_config.json");
  CHECK(s.algo == "NVFP4");
  REQUIRE(s.groups.size() == 1);
  CHECK(s.groups[0].format == WeightFormat::kNvfp4);
  CHECK(s.groups[0].group_size == 16);
  CHECK(s.groups[0].input == InputActivations::kStatic);
  CHECK(s.kv_cache);
  CHECK(s.ignored_by("model.layers.0.self_attn.kv_b_proj", true) != nullptr);
  CHECK(s.ignored_by("model.layers.5.mlp.experts.0.down_proj", true) == nullptr);
}

TEST_CASE("modelopt config.json without quant_method: Qwen3-32B-FP8-Static-PerTensor") {
  auto s = scheme_of("Qwen--Qwen3-32B-FP8-Static-PerTensor_config.json");
  CHECK(s.method == QuantMethod::kModelOpt);
  REQUIRE(s.groups.size() == 1);
  CHECK(s.groups[0].format == WeightFormat::kFp8Tensor);
  CHECK(s.groups[0].input == InputActivations::kStatic);
}

TEST_CASE("compressed-tensors mixed precision: FP8 block attention and NVFP4 experts") {
  auto s = scheme_of("HISTORY-RedHatAI--DeepSeek-V4-Flash-NVFP4-FP8_config.json");
  CHECK(s.method == QuantMethod::kCompressedTensors);
  REQUIRE(s.groups.size() == 2);
  const ckd::QuantGroup* attn = s.group_for("model.layers.3.attn.wq_b", true);
  REQUIRE(attn != nullptr);
  CHECK(attn->format == WeightFormat::kFp8Block);
  const ckd::QuantGroup* expert = s.group_for("model.layers.3.ffn.experts.7.gate_proj", true);
  REQUIRE(expert != nullptr);
  CHECK(expert->format == WeightFormat::kNvfp4);
}

TEST_CASE("compressed-tensors FP8 dynamic and the legacy compression_config key") {
  auto dynamic = scheme_of("command-a-plus-fp8-dynamic_config.json");
  CHECK(dynamic.method == QuantMethod::kCompressedTensors);
  REQUIRE(!dynamic.groups.empty());
  CHECK(dynamic.groups[0].format == WeightFormat::kFp8Channel);
  CHECK(dynamic.groups[0].input == InputActivations::kDynamic);
  auto legacy = scheme_of("tinyllama-fp8-legacy-compression_config.json");
  CHECK(legacy.method == QuantMethod::kCompressedTensors);
  CHECK(legacy.groups[0].format == WeightFormat::kFp8Tensor);
  CHECK(legacy.groups[0].input == InputActivations::kStatic);
  CHECK(legacy.kv_cache);
}

TEST_CASE("compressed-tensors INT4 pack-quantized and MXFP4 in text_config: Kimi K2.5 and K3") {
  auto k25 = scheme_of("moonshotai--Kimi-K2.5_config.json");
  CHECK(k25.method == QuantMethod::kCompressedTensors);
  REQUIRE(!k25.groups.empty());
  CHECK(k25.groups[0].format == WeightFormat::kIntPacked);
  CHECK(k25.groups[0].bits == 4);
  auto k3 = scheme_of("moonshotai--Kimi-K3_config.json");
  REQUIRE(!k3.groups.empty());
  CHECK(k3.groups[0].format == WeightFormat::kMxfp4);
}

TEST_CASE("gpt-oss mxfp4 globs cover child modules") {
  auto s = scheme_of("openai--gpt-oss-20b_config.json");
  CHECK(s.method == QuantMethod::kMxfp4);
  CHECK(s.ignored_by("model.layers.7.self_attn.q_proj", true) != nullptr);
  CHECK(s.ignored_by("model.layers.7.mlp.router", true) != nullptr);
  CHECK(s.ignored_by("model.layers.7.mlp.experts.gate_up_proj", true) == nullptr);
}

TEST_CASE("unknown methods are reported, not guessed") {
  auto custom = scheme_of("spark-custom-method_config.json");
  CHECK(custom.method == QuantMethod::kUnknown);
  CHECK(custom.method_name == "dv_ssq_hadamard_int8_int4_rco");
}

TEST_CASE("compressed-tensors re: patterns anchor at the start only, like Python re.match") {
  auto p = ckd::NamePattern::compressed_tensors("re:.*mlp\\.gate$");
  CHECK(p.matches("model.layers.0.mlp.gate", true));
  CHECK_FALSE(p.matches("model.layers.0.mlp.gate_proj", true));
  auto prefix = ckd::NamePattern::compressed_tensors("re:model\\.visual");
  CHECK(prefix.matches("model.visual.blocks.0.attn.qkv", true));  // re.match: no end anchor
  CHECK_FALSE(prefix.matches("x.model.visual", true));
  auto cls = ckd::NamePattern::compressed_tensors("Linear");
  CHECK(cls.kind == ckd::NamePattern::Kind::kClass);
  CHECK(cls.matches("anything", true));
  CHECK_FALSE(cls.matches("anything", false));
  auto bad = ckd::NamePattern::compressed_tensors("re:(unclosed");
  CHECK_FALSE(bad.valid());
  CHECK_FALSE(bad.matches("unclosed", true));
}

TEST_CASE("modelopt exclude globs: x* covers x and its children") {
  auto p = ckd::NamePattern::glob("lm_head*");
  CHECK(p.matches("lm_head", true));
  CHECK(p.matches("lm_head_extra", true));
  auto layer = ckd::NamePattern::glob("model.layers.*.mlp.gate");
  CHECK(layer.matches("model.layers.12.mlp.gate", true));
  CHECK_FALSE(layer.matches("model.layers.12.mlp.gate_proj", true));
}

TEST_CASE("ignore walk: neighbours' shared parents give what the lookup of each module gives") {
  ckd::QuantScheme scheme;
  for (const char* e : {"model.layers.0.mlp.gate", "model.layers.1.self_attn", "model.layers.1",
                        "model.layers.10.mlp.experts.3", "lm_head", "model.visual", "model.vis",
                        "model.layers.2.mlp.experts.1.up_proj", "model.layers.2.mlp"})
    scheme.ignore.push_back(ckd::NamePattern::glob(e));
  scheme.ignore.push_back(ckd::NamePattern::glob("model.layers.*.linear_attn.in_proj_a"));
  scheme.index_patterns();
  std::vector<std::string> modules;
  for (const char* layer : {"0", "1", "10", "11", "2", "3"}) {
    std::string l = std::string("model.layers.") + layer;
    for (const char* e : {"0", "1", "10", "2", "3"})
      for (const char* p : {"down_proj", "gate_proj", "up_proj"})
        modules.push_back(l + ".mlp.experts." + e + "." + p);
    modules.push_back(l + ".mlp.gate");
    modules.push_back(l + ".mlp");
    modules.push_back(l + ".self_attn.q_proj");
    modules.push_back(l + ".linear_attn.in_proj_a");
    modules.push_back(l + ".linear_attn.in_proj_ab");
  }
  modules.insert(modules.end(), {"lm_head", "model.visual.blocks.0.attn.qkv", "model.vis",
                                 "model.visual", "model.visualx.y", "model", "x.y.z"});
  std::vector<std::vector<std::string>> orders = {modules, modules, modules};
  std::sort(orders[1].begin(), orders[1].end());
  std::reverse(orders[2].begin(), orders[2].end());
  size_t ignored = 0;
  for (const auto& order : orders) {
    ckd::QuantScheme::IgnoreWalk walk(scheme);
    for (const std::string& m : order) {
      CAPTURE(m);
      const ckd::NamePattern* want = scheme.ignored_by(m, true);
      CHECK(walk.ignored_by(m, true) == want);
      ignored += want != nullptr;
    }
  }
  CHECK(ignored > 30);  // the lists above do ignore (parents and exact names) as well as keep
}

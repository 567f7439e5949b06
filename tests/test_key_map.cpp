// Key normalization and the prefix-change diagnosis behind --source.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "checkpoint/key_map.h"
#include "checkpoint/module_table.h"

TEST_CASE("normalize_key folds quantization suffixes and expert layouts") {
  using ckd::normalize_key;
  CHECK(normalize_key("model.layers.0.mlp.down_proj.weight") ==
        "model.layers.0.mlp.down_proj.weight");
  CHECK(normalize_key("model.layers.0.mlp.down_proj.weight_packed") ==
        "model.layers.0.mlp.down_proj.weight");
  CHECK(normalize_key("model.layers.0.mlp.down_proj.weight_scale_inv").empty());
  CHECK(normalize_key("model.layers.0.mlp.down_proj.input_global_scale").empty());
  CHECK(normalize_key("model.layers.0.self_attn.k_proj.k_scale").empty());
  CHECK(normalize_key("model.layers.0.mlp.down_proj.weight_shape").empty());
  // Per-expert (Qwen3-MoE) and fused (Qwen3.5-MoE, Qwen3-VL-MoE, gpt-oss) meet at one key.
  CHECK(normalize_key("model.layers.3.mlp.experts.17.gate_proj.weight") ==
        "model.layers.3.mlp.experts.gate_up_proj");
  CHECK(normalize_key("model.layers.3.mlp.experts.17.up_proj.weight_packed") ==
        "model.layers.3.mlp.experts.gate_up_proj");
  CHECK(normalize_key("model.layers.3.mlp.experts.17.down_proj.weight") ==
        "model.layers.3.mlp.experts.down_proj");
  CHECK(normalize_key("model.layers.3.mlp.experts.gate_up_proj") ==
        "model.layers.3.mlp.experts.gate_up_proj");
  CHECK(normalize_key("model.layers.3.mlp.experts.gate_up_proj_blocks") ==
        "model.layers.3.mlp.experts.gate_up_proj");
  CHECK(normalize_key("model.layers.3.mlp.experts.gate_up_proj_scales").empty());
  CHECK(normalize_key("model.layers.3.mlp.experts.down_proj_bias") ==
        "model.layers.3.mlp.experts.down_proj_bias");
}

TEST_CASE("best_prefix_change finds the rewrite that explains most keys") {
  std::unordered_map<std::string, std::string> source, quantized;
  for (int layer = 0; layer < 4; ++layer) {
    for (const char* proj : {"q_proj", "k_proj", "v_proj"}) {
      std::string tail = "layers." + std::to_string(layer) + ".self_attn." + proj + ".weight";
      source["model.language_model." + tail] = "model.language_model." + tail;
      quantized["language_model.model." + tail] = "language_model.model." + tail;
    }
  }
  source["model.language_model.norm.weight"] = "model.language_model.norm.weight";
  quantized["language_model.model.norm.weight"] = "language_model.model.norm.weight";
  auto change = ckd::best_prefix_change(quantized, source);
  REQUIRE(change.has_value());
  CHECK(change->from == "language_model.model.");
  CHECK(change->to == "model.language_model.");
  CHECK(change->count == 13);
  CHECK(change->unmatched == 13);
  CHECK(ckd::apply_prefix_change("language_model.model.norm.weight", *change) ==
        "model.language_model.norm.weight");
  // Identical key sets need no change.
  CHECK_FALSE(ckd::best_prefix_change(source, source).has_value());
}

TEST_CASE("fused experts' sidecars split off their fused weight (issue 10 item 18)") {
  using ckd::split_tensor_name;
  using ckd::TensorRole;
  auto split = [](std::string_view name) {
    auto [module, param] = split_tensor_name(name);
    return std::pair{std::string(module), std::string(param)};
  };
  CHECK(split("model.layers.0.mlp.experts.gate_up_proj_scale") ==
        std::pair<std::string, std::string>{"model.layers.0.mlp.experts.gate_up_proj", "scale"});
  CHECK(split("model.layers.0.mlp.experts.gate_up_proj_scale_2").second == "scale_2");
  CHECK(split("model.layers.0.mlp.experts.down_proj_zero_point").second == "zero_point");
  CHECK(split("model.layers.0.mlp.experts.down_proj_input_scale").second == "input_scale");
  CHECK(ckd::role_of_param("scale_2", "model.layers.0.mlp.experts.gate_up_proj") ==
        TensorRole::kGlobalScale);
  CHECK(ckd::role_of_param("zero_point", "model.layers.0.mlp.experts.gate_up_proj") ==
        TensorRole::kZeroPoint);
  CHECK(ckd::normalize_key("model.layers.0.mlp.experts.gate_up_proj_scale").empty());
  // Controls: gpt-oss's _scales, a bias, and names outside an experts module stay as they were.
  CHECK(split("model.layers.0.mlp.experts.gate_up_proj_scales").second == "scales");
  CHECK(split("model.layers.0.mlp.experts.gate_up_proj_bias").second == "bias");
  CHECK(split("model.layers.0.mlp.down_proj_scale") ==
        std::pair<std::string, std::string>{"model.layers.0.mlp.down_proj_scale", ""});
  CHECK(split("model.layers.0.mlp.experts.router_scale").second.empty());
  CHECK(ckd::role_of_param("scale", "model.layers.0.attn") == TensorRole::kOther);
}

TEST_CASE("never-quantized modules: a router or embed_tokens segment anywhere, whole segments only") {
  for (const char* yes :
       {"model.router", "model.layers.3.mlp.router.experts", "router.x", "model.embed_tokens",
        "model.embed_tokens.inner", "lm_head", "model.layers.0.mlp.gate", "model.norm",
        "model.layers.1.input_layernorm", "transformer.wte", "x.ln_f", "model.shared_expert_gate",
        "a.wpe", "model.layers.2.post_attention_layernorm", "m.word_embeddings", "router",
        "embed_tokens.a.b", "a.b.c.router"}) {
    CAPTURE(yes);
    CHECK(ckd::is_never_quantized_name(yes));
  }
  for (const char* no : {"model.routers.x", "model.xrouter.proj", "model.router_proj.x",
                         "model.my_embed_tokens_x.linear", "model.layers.0.mlp.experts.3.down_proj",
                         "model.layers.0.self_attn.q_proj", "", ".", "a..b", "model.nor.m",
                         "model.gates", "model.lm_heads", "model.wtex", "model.xln_f",
                         "model.emb.ed", "model.layers.0.mlp.gate.proj"}) {
    CAPTURE(no);
    CHECK_FALSE(ckd::is_never_quantized_name(no));
  }
}

TEST_CASE("may_name_scale: every scale parameter's name passes, weights and others do not") {
  for (const char* yes : {"x.weight_scale", "x.weight_scale_inv", "x.weight_scale_2", "x.scales",
                          "x.weight.absmax", "x.SCB", "x.input_scale", "x.k_scale",
                          "model.layers.0.mlp.experts.gate_up_proj_scale", "scale"}) {
    CAPTURE(yes);
    CHECK(ckd::may_name_scale(yes));
  }
  for (const char* no : {"x.weight", "x.bias", "x.qweight", "x.g_idx", "x.qzeros", "", "x.scalex",
                         "x.weight_packed", "x.scale_3", "x.absmaxx", "x.SCBs"}) {
    CAPTURE(no);
    CHECK_FALSE(ckd::may_name_scale(no));
  }
}

TEST_CASE("Module::param with the table's name lengths finds what it finds without them") {
  // Names of one module each: plain, Quark legacy, Devstral activation scale, fused sidecars,
  // and a bare tensor of 72 bytes (a module of its own, with an empty parameter name).
  const std::string long_param(70, 'p');
  std::vector<std::string> names = {"a.weight",
                                    "a.weight_scale",
                                    "a.input_scale",
                                    "b.weight",
                                    "b.weight_quantizer.scale",
                                    "b.input_quantizer.scale",
                                    "b.output_quantizer.zero_point",
                                    "c.weight",
                                    "c.activation_scale",
                                    "d.experts.gate_up_proj",
                                    "d.experts.gate_up_proj_scale",
                                    "d.experts.gate_up_proj_scale_2",
                                    "e.weight",
                                    "e." + long_param};
  std::sort(names.begin(), names.end());
  std::vector<ckd::TensorInfo> infos(names.size());
  std::vector<ckd::TensorRef> refs(names.size());
  std::vector<std::string_view> views;
  std::vector<const ckd::TensorRef*> ref_ptrs;
  for (size_t i = 0; i < names.size(); ++i) {
    infos[i].name = names[i];
    infos[i].dtype = ckd::Dtype::kBF16;
    infos[i].shape = {4, 4};
    refs[i].info = &infos[i];
    views.push_back(names[i]);
    ref_ptrs.push_back(&refs[i]);
  }
  ckd::ModuleTable table;
  table.build(views, ref_ptrs);
  const std::vector<std::string> asked = {"weight",
                                          "weight_scale",
                                          "input_scale",
                                          "weight_zero_point",
                                          "output_zero_point",
                                          "weight_global_scale",
                                          "weight_scale_2",
                                          "scale",
                                          "scale_2",
                                          "activation_scale",
                                          "output_scale",
                                          "weight_quantizer.scale",
                                          long_param,
                                          long_param + "q",
                                          "",
                                          "q"};
  size_t found = 0;
  size_t without_weight = 0;
  for (const ckd::Module& m : table.modules()) {
    CHECK(m.param_lengths == ckd::param_name_lengths(m.params));
    CHECK(m.weight_index != ckd::Module::kWeightUnknown);
    CHECK(m.weight() == m.find_weight());  // the cached answer is the search's
    without_weight += m.weight() == nullptr;
    ckd::Module all_lengths = m;  // every bit set: no length rules a name out
    all_lengths.param_lengths = ~uint64_t{0};
    for (const std::string& name : asked) {
      CAPTURE(m.path);
      CAPTURE(name);
      const ckd::ModuleParam* want = all_lengths.param(name);
      CHECK(m.param(name) == want);
      found += want != nullptr;
    }
  }
  // Every kind of answer occurs: legacy (b), activation (c), fused (d), the bare tensor (e...).
  CHECK(table.find("b")->param("weight_scale") != nullptr);
  CHECK(table.find("b")->param("output_zero_point") != nullptr);
  CHECK(table.find("c")->param("input_scale") != nullptr);
  CHECK(table.find("d.experts.gate_up_proj")->param("weight_scale_2") != nullptr);
  CHECK(table.find("e." + long_param)->param("") != nullptr);
  CHECK(found >= 12);
  CHECK(without_weight == 1);                                        // the bare tensor "e.ppp..."
  CHECK(table.find("d.experts.gate_up_proj")->weight() != nullptr);  // a fused weight, param ""
}

TEST_CASE("find_experts_segment: the first \".experts.\", as string_view::find finds it") {
  for (const char* name :
       {"model.layers.0.mlp.experts.12.down_proj", "x.experts.", ".experts.", "experts.1",
        "a.xexperts.1", "a.experts", "a.experts.experts.3", "max.experts.x", "", "xx", ".ex",
        "model.mixer.experts.gate.experts.3.w", "a.expertsx.b.experts.c"}) {
    CAPTURE(name);
    CHECK(ckd::find_experts_segment(name) == std::string_view(name).find(".experts."));
  }
}

TEST_CASE("split_tensor_name at the edges: dots first, last, doubled, none") {
  auto split = [](std::string_view name) {
    auto [module, param] = ckd::split_tensor_name(name);
    return std::pair{std::string(module), std::string(param)};
  };
  using P = std::pair<std::string, std::string>;
  CHECK(split("weight") == P{"weight", ""});
  CHECK(split("") == P{"", ""});
  CHECK(split(".weight") == P{"", "weight"});
  CHECK(split("a.") == P{"a.", ""});
  CHECK(split("a..weight") == P{"a.", "weight"});
  CHECK(split(".weight_quantizer.scale") == P{"", "weight_quantizer.scale"});
  CHECK(split("x.weight_quantizer.scale") == P{"x", "weight_quantizer.scale"});
  CHECK(split("weight_quantizer.scale") == P{"weight_quantizer.scale", ""});  // "scale" alone: no
  CHECK(split("model.layers.0.q_proj.weight_scale_inv") ==
        P{"model.layers.0.q_proj", "weight_scale_inv"});
  CHECK(split("x.weight.absmax") == P{"x", "weight.absmax"});
}

TEST_CASE("split_tensor_name_with_role gives split_tensor_name and role_of_param of its parts") {
  for (const char* name : {"model.layers.0.self_attn.q_proj.weight",
                           "model.layers.0.self_attn.q_proj.weight_scale",
                           "x.weight_scale_inv",
                           "x.weight_scale_2",
                           "x.input_scale",
                           "x.k_scale",
                           "x.qweight",
                           "x.qzeros",
                           "x.scales",
                           "x.g_idx",
                           "x.weight_packed",
                           "x.weight_shape",
                           "x.weight_quantizer.scale",
                           "x.weight.absmax",
                           "x.weight.quant_map",
                           "x.weight.quant_state.bitsandbytes__nf4",
                           "model.layers.0.mlp.experts.gate_up_proj",
                           "model.layers.0.mlp.experts.gate_up_proj_scale",
                           "model.layers.0.mlp.experts.down_proj_bias",
                           "model.layers.0.mlp.experts.gate_up_proj_blocks",
                           "x.biases",
                           "x.bias",
                           "lm_head.weight",
                           "weight",
                           "",
                           ".",
                           "a..b",
                           "x.SCB",
                           "x.weight_format",
                           "x.activation_scale"}) {
    CAPTURE(name);
    const auto both = ckd::split_tensor_name_with_role(name);
    const auto [module, param] = ckd::split_tensor_name(name);
    CHECK(both.module == module);
    CHECK(both.param == param);
    CHECK(both.role == ckd::role_of_param(param, module));
  }
}

// Key normalization and the prefix-change diagnosis behind --source.
#include <doctest/doctest.h>

#include "checkpoint/key_map.h"

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

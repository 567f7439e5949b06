// Configs at hostile sizes (issue 10 #13, #14) and hostile numbers (#16): the depth-capped
// parser builds the same document as nlohmann's own in linear time, pattern lists cost their
// text and no compiled automaton per glob, and numbers outside what a producer writes are
// reported instead of replaced. Timings live in bench/ (bench/configs.sh), not here.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "checkpoint/quant_scheme.h"
#include "io/byte_source.h"
#include "io/json_depth.h"
#include "io/ordered_json_insert.h"

using ckd::NamePattern;
using ckd::QuantScheme;
using ckd::WeightFormat;
using nlohmann::json;

namespace {

// A modelopt MIXED_PRECISION hf_quant_config.json the size of a DeepSeek-shaped export:
// 61 layers x 256 experts x 3 projections NVFP4, plus 61 x 4 attention projections FP8 (47,092
// quantized_layers, about 6.8 MB with the producer's indent of 4).
std::string mixed_precision_config() {
  json layers = json::object();
  for (int l = 0; l < 61; ++l) {
    for (int e = 0; e < 256; ++e) {
      for (const char* p : {"gate_proj", "up_proj", "down_proj"}) {
        layers[fmt::format("model.layers.{}.mlp.experts.{}.{}", l, e, p)] = {
            {"quant_algo", "NVFP4"}, {"group_size", 16}};
      }
    }
    for (const char* p : {"q_proj", "k_proj", "v_proj", "o_proj"})
      layers[fmt::format("model.layers.{}.self_attn.{}", l, p)] = {{"quant_algo", "FP8"}};
  }
  json config = {{"producer", {{"name", "modelopt"}, {"version", "0.35.0"}}},
                 {"quantization",
                  {{"quant_algo", "MIXED_PRECISION"},
                   {"kv_cache_quant_algo", nullptr},
                   {"quantized_layers", layers},
                   {"exclude_modules", {"lm_head", "model.layers.*.mlp.gate"}}}}};
  return config.dump(4);
}

std::string nested(int depth, const std::string& inner = "1") {
  return std::string(static_cast<size_t>(depth), '[') + inner +
         std::string(static_cast<size_t>(depth), ']');
}

QuantScheme fp8_with(const json& quantization_config) {
  json config = {{"quantization_config", quantization_config}};
  config["quantization_config"]["quant_method"] = "fp8";
  return ckd::parse_quant_scheme(&config, nullptr);
}

QuantScheme ct_with(const json& weights, const std::string& format = "float-quantized") {
  json config = {{"quantization_config",
                  {{"quant_method", "compressed-tensors"},
                   {"format", format},
                   {"config_groups", {{"group_0", {{"targets", {"Linear"}}, {"weights", weights}}}}}}}};
  return ckd::parse_quant_scheme(&config, nullptr);
}

QuantScheme modelopt_with(const json& quantization) {
  json hf = {{"quantization", quantization}};
  return ckd::parse_quant_scheme(nullptr, &hf);
}

bool mentions(const std::vector<std::string>& lines, const std::string& text) {
  for (const std::string& l : lines) {
    if (l.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("a 47k-layer MIXED_PRECISION hf_quant_config parses and resolves every module") {
  std::string text = mixed_precision_config();
  CHECK(text.size() > 6'000'000);
  json doc = ckd::parse_json_capped(text);
  CHECK(doc == json::parse(text));  // the same document nlohmann's own parser builds
  QuantScheme s = ckd::parse_quant_scheme(nullptr, &doc);
  CHECK(s.method == ckd::QuantMethod::kModelOpt);
  REQUIRE(s.groups.size() == 47'092);
  CHECK(s.invalid.empty());
  const ckd::QuantGroup* expert = s.group_for("model.layers.60.mlp.experts.255.down_proj", true);
  REQUIRE(expert != nullptr);
  CHECK(expert->name == "model.layers.60.mlp.experts.255.down_proj");
  CHECK(expert->format == WeightFormat::kNvfp4);
  CHECK(expert->group_size == 16);
  const ckd::QuantGroup* attn = s.group_for("model.layers.7.self_attn.k_proj", true);
  REQUIRE(attn != nullptr);
  CHECK(attn->format == WeightFormat::kFp8Tensor);
  // A literal modelopt entry also covers the module's children, never a sibling by prefix.
  CHECK(s.group_for("model.layers.7.self_attn.k_proj.lora", true) == attn);
  CHECK(s.group_for("model.layers.7.self_attn.k_proj_extra", true) == nullptr);
  CHECK(s.ignored_by("model.layers.3.mlp.gate", true) != nullptr);
  CHECK(s.ignored_by("model.layers.3.mlp.gate_proj", true) == nullptr);

  // fix edits the same file as ordered_json: order kept, every key there.
  auto ordered = ckd::parse_json_capped<nlohmann::ordered_json>(text);
  const auto& layers = ordered["quantization"]["quantized_layers"];
  REQUIRE(layers.size() == 47'092);
  CHECK(layers.begin().key() == json::parse(text)["quantization"]["quantized_layers"].begin().key());
  CHECK(ordered.dump(4) == text);
}

TEST_CASE("the depth cap: 256 nested containers parse, 257 are refused, skipped values too") {
  CHECK(ckd::parse_json_capped(nested(256)) == json::parse(nested(256)));
  CHECK_THROWS_WITH_AS(ckd::parse_json_capped(nested(257)), "JSON nesting deeper than 256 levels",
                       ckd::IoError);
  CHECK_THROWS_AS(ckd::parse_json_capped<nlohmann::ordered_json>(nested(100'000)), ckd::IoError);
  CHECK_THROWS_AS(ckd::parse_json_capped("{\"weight_map\": " + nested(300) + "}", "weight_map"),
                  ckd::IoError);
  std::string objects;
  for (int i = 0; i < 257; ++i) objects += "{\"a\":";
  objects += "1" + std::string(257, '}');
  CHECK_THROWS_AS(ckd::parse_json_capped(objects), ckd::IoError);
}

TEST_CASE("skip_top_level_key drops only the top-level member") {
  std::string text =
      R"({"metadata": {"total_size": 5, "weight_map": {"keep": 1}}, "weight_map": {"a": [1, {"b": 2}]},)"
      R"( "after": "x"})";
  json doc = ckd::parse_json_capped(text, "weight_map");
  CHECK(doc == json::parse(R"({"metadata": {"total_size": 5, "weight_map": {"keep": 1}}, "after": "x"})"));
  CHECK(ckd::parse_json_capped(R"({"weight_map": 7, "b": 1})", "weight_map") == json{{"b", 1}});
  auto ordered = ckd::parse_json_capped<nlohmann::ordered_json>(text, "weight_map");
  CHECK(ordered.dump() == R"({"metadata":{"total_size":5,"weight_map":{"keep":1}},"after":"x"})");
}

TEST_CASE("repeated keys, scalars and errors behave as in nlohmann's parser") {
  CHECK(ckd::parse_json_capped(R"({"a": 1, "b": 2, "a": 3})") == json{{"a", 3}, {"b", 2}});
  auto ordered = ckd::parse_json_capped<nlohmann::ordered_json>(R"({"z": 1, "a": 2, "z": [3]})");
  CHECK(ordered.dump() == R"({"z":[3],"a":2})");  // first position, last value
  CHECK(ckd::parse_json_capped("42") == json(42));
  CHECK(ckd::parse_json_capped("\"s\"") == json("s"));
  CHECK(ckd::parse_json_capped("[1.5, -2, 18446744073709551615, null, true]") ==
        json::parse("[1.5, -2, 18446744073709551615, null, true]"));
  CHECK_THROWS_AS(ckd::parse_json_capped(R"({"model_type": "qwen3",)"), json::parse_error);
  CHECK_THROWS_AS(ckd::parse_json_capped("{} trailing"), json::parse_error);
  CHECK_THROWS_AS(ckd::parse_json_capped(""), json::parse_error);
  CHECK_THROWS_AS(ckd::parse_json_capped("[1e999]"), json::out_of_range);
}

TEST_CASE("OrderedObjectInserter keeps order, first position and last value") {
  nlohmann::ordered_json obj = nlohmann::ordered_json::object();
  obj["existing"] = 0;
  ckd::OrderedObjectInserter members(obj);
  members.slot("b") = 1;
  members.slot("a") = 2;
  members.slot("existing") = 3;
  members.slot("b") = 4;
  CHECK(obj.dump() == R"({"existing":3,"b":4,"a":2})");
}

TEST_CASE("glob_match: fnmatch '*' and '?', everything else literal") {
  CHECK(ckd::glob_match("model.layers.*.mlp.gate", "model.layers.12.mlp.gate"));
  CHECK_FALSE(ckd::glob_match("model.layers.*.mlp.gate", "model.layers.12.mlp.gate_proj"));
  CHECK(ckd::glob_match("*", ""));
  CHECK(ckd::glob_match("*gate*", "a.gate.b"));
  CHECK(ckd::glob_match("lm_head*", "lm_head"));
  CHECK(ckd::glob_match("a?c", "abc"));
  CHECK(ckd::glob_match("a?c", "a\xc3\xa9"
                               "c"));  // '?' is one character, not one byte
  CHECK_FALSE(ckd::glob_match("a?c", "ac"));
  CHECK(ckd::glob_match("x[0]", "x[0]"));  // '[' is literal, as before
  CHECK_FALSE(ckd::glob_match("x[0]", "x0"));
  CHECK(ckd::glob_match("*a*a*a*a*b", std::string(2000, 'a') + "b"));
  CHECK_FALSE(ckd::glob_match("*a*a*a*a*b", std::string(2000, 'a')));
}

TEST_CASE("200k ignore globs: no compiled automaton per entry, lookups stay right") {
  json ignore = json::array();
  for (int i = 0; i < 100'000; ++i) {
    ignore.push_back(fmt::format("model.layers.*.mlp.experts.{}.gate_proj", i));
    ignore.push_back(fmt::format("model.layers.{}.mlp.shared_expert", i));
  }
  QuantScheme s = fp8_with({{"modules_to_not_convert", ignore}});
  REQUIRE(s.ignore.size() == 200'000);
  for (const NamePattern& p : s.ignore) REQUIRE(p.regex == nullptr);
  const NamePattern* wild = s.ignored_by("model.layers.3.mlp.experts.99999.gate_proj", true);
  REQUIRE(wild != nullptr);
  CHECK(wild->text == "model.layers.*.mlp.experts.99999.gate_proj");
  const NamePattern* literal = s.ignored_by("model.layers.77.mlp.shared_expert.down_proj", true);
  REQUIRE(literal != nullptr);
  CHECK(literal->text == "model.layers.77.mlp.shared_expert");
  CHECK(s.ignored_by("model.layers.3.mlp.experts.100000.gate_proj", true) == nullptr);
  CHECK(s.problems.empty());

  // A wildcard glob past kMaxPatternLength is refused (matching it would cost |glob| x |name|);
  // a literal one of any length is a hash lookup.
  std::string long_literal(2000, 'y');
  QuantScheme o =
      fp8_with({{"modules_to_not_convert", {"model.*" + std::string(2000, 'x'), long_literal}}});
  CHECK_FALSE(o.ignore[0].valid());
  CHECK(o.ignore[1].valid());
  CHECK(mentions(o.problems, "is not a valid pattern"));
  CHECK(o.ignored_by("model." + std::string(2000, 'x'), true) == nullptr);
  CHECK(o.ignored_by(long_literal, true) != nullptr);
}

TEST_CASE("compressed-tensors re: entries are compiled with a small budget, at most 256") {
  json ignore = json::array();
  for (size_t i = 0; i < ckd::kMaxRegexEntries + 5; ++i)
    ignore.push_back(fmt::format("re:.*layers\\.{}\\.mlp\\.gate$", i));
  ignore.push_back("lm_head");
  json config = {{"quantization_config",
                  {{"quant_method", "compressed-tensors"}, {"format", "float-quantized"},
                   {"ignore", ignore}}}};
  QuantScheme s = ckd::parse_quant_scheme(&config, nullptr);
  size_t compiled = 0;
  for (const NamePattern& p : s.ignore) compiled += p.regex != nullptr;
  CHECK(compiled == ckd::kMaxRegexEntries);
  CHECK(mentions(s.problems, "5 \"re:\" entries past the first 256"));
  CHECK(s.ignored_by("model.layers.255.mlp.gate", true) != nullptr);
  CHECK(s.ignored_by("model.layers.257.mlp.gate", true) == nullptr);  // not compiled: reported
  CHECK(s.ignored_by("lm_head", true) != nullptr);
  // A regex past RE2's program budget is refused; a longer text is not even parsed.
  json huge = {{"quantization_config",
                {{"quant_method", "compressed-tensors"},
                 {"ignore", {"re:(?:[a-z0-9_.]{0,100}){100}", "re:" + std::string(2000, 'a')}}}}};
  QuantScheme h = ckd::parse_quant_scheme(&huge, nullptr);
  REQUIRE(h.ignore.size() == 2);
  CHECK_FALSE(h.ignore[0].valid());
  CHECK_FALSE(h.ignore[1].valid());
  CHECK(h.ignore[1].regex == nullptr);
  CHECK(mentions(h.problems, "entry \"re:(?:[a-z0-9_.]{0,100}){100}\" is not a valid pattern"));
  CHECK(mentions(h.problems, "1 \"re:\" entries in targets and ignore are longer than 1024"));
}

TEST_CASE("group_for's tables agree with matching every target in order") {
  json config = {
      {"quantization_config",
       {{"quant_method", "compressed-tensors"},
        {"format", "float-quantized"},
        {"config_groups",
         {{"g0", {{"targets", {"model.layers.0.mlp.down_proj", "re:.*experts\\.1\\..*"}},
                  {"weights", {{"num_bits", 8}, {"type", "float"}, {"strategy", "tensor"}}}}},
          {"g1", {{"targets", {"Embedding", "re:.*self_attn.*"}},
                  {"weights", {{"num_bits", 8}, {"type", "float"}, {"strategy", "channel"}}}}},
          {"g2", {{"targets", {"Linear"}},
                  {"weights", {{"num_bits", 4}, {"type", "int"}, {"group_size", 128},
                               {"strategy", "group"}}}}}}}}}};
  QuantScheme ct = ckd::parse_quant_scheme(&config, nullptr);
  json mixed = {{"quant_algo", "MIXED_PRECISION"},
                {"quantized_layers",
                 {{"model.layers.0.self_attn", {{"quant_algo", "FP8"}}},
                  {"model.layers.0.self_attn.q_proj", {{"quant_algo", "NVFP4"}}},
                  {"model.layers.*.mlp.experts.1*", {{"quant_algo", "NVFP4"}}},
                  {"model.layers.1.mlp*", {{"quant_algo", "FP8"}}},
                  {"model.layers.2.", {{"quant_algo", "FP8"}}}}}};
  QuantScheme mo = modelopt_with(mixed);
  std::vector<std::string> modules = {
      "model.layers.0.mlp.down_proj", "model.layers.0.mlp.down_proj.x", "model.layers.0.mlp.up_proj",
      "model.layers.0.mlp.experts.1.up_proj", "model.layers.0.mlp.experts.12.up_proj",
      "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn", "model.layers.1.mlp",
      "model.layers.1.mlp.gate", "model.layers.1.mlp_x", "model.layers.2.", "model.layers.2.x",
      "model.layers.2", "lm_head", ""};
  for (const QuantScheme* s : {&ct, &mo}) {
    for (const std::string& m : modules) {
      for (bool linear : {true, false}) {
        const ckd::QuantGroup* expected = nullptr;
        for (const ckd::QuantGroup& g : s->groups) {
          bool hit = g.targets.empty() && linear;
          for (const NamePattern& t : g.targets) hit = hit || t.matches(m, linear);
          if (hit) {
            expected = &g;
            break;
          }
        }
        CAPTURE(m);
        CAPTURE(linear);
        CHECK(s->group_for(m, linear) == expected);
      }
    }
  }
}

TEST_CASE("fp8 weight_block_size: nonsense is invalid-config, not per-tensor FP8") {
  for (const char* bad : {"[0, 0]", "[-1, 128]", "[1e30, 1]", "[128]", "[128, 128, 1]",
                          "\"128\"", "[128.5, 128]", "[2147483648, 1]", "{}"}) {
    CAPTURE(bad);
    QuantScheme s = fp8_with({{"weight_block_size", json::parse(bad)}});
    REQUIRE(s.groups.size() == 1);
    CHECK(s.groups[0].format == WeightFormat::kUnknown);
    CHECK_FALSE(s.groups[0].block.has_value());
    REQUIRE(s.invalid.size() == 1);
    CHECK(mentions(s.invalid, "weight_block_size is " + json::parse(bad).dump()));
  }
  // Legal: two positive integers (an integral float too, as pydantic takes it), null, absent.
  QuantScheme block = fp8_with({{"weight_block_size", {128, 64}}});
  CHECK(block.groups[0].format == WeightFormat::kFp8Block);
  CHECK((*block.groups[0].block == std::array<uint64_t, 2>{128, 64}));
  CHECK(fp8_with({{"weight_block_size", json::parse("[128.0, 128]")}}).groups[0].format ==
        WeightFormat::kFp8Block);
  QuantScheme tensor = fp8_with({{"weight_block_size", nullptr}});
  CHECK(tensor.groups[0].format == WeightFormat::kFp8Tensor);
  CHECK(tensor.invalid.empty());
  CHECK(fp8_with({{"activation_scheme", "static"}}).groups[0].format == WeightFormat::kFp8Tensor);
}

TEST_CASE("compressed-tensors num_bits, group_size, block_structure are checked") {
  json nvfp4 = {{"type", "float"}, {"strategy", "tensor_group"}, {"group_size", 16}};
  json bits = nvfp4;
  bits["num_bits"] = 4294967300ULL;
  QuantScheme s = ct_with(bits);
  CHECK(s.groups[0].format == WeightFormat::kUnknown);
  CHECK(mentions(s.invalid, "config_groups.group_0.weights.num_bits is 4294967300"));
  for (const json& n : {json(0), json(-4), json(33), json("4"), json(4.5)}) {
    json w = nvfp4;
    w["num_bits"] = n;
    CHECK(ct_with(w).groups[0].format == WeightFormat::kUnknown);
  }
  nvfp4["num_bits"] = 4;
  CHECK(ct_with(nvfp4).groups[0].format == WeightFormat::kNvfp4);
  CHECK(ct_with(nvfp4).invalid.empty());

  json group = {{"num_bits", 4}, {"type", "int"}, {"strategy", "group"}};
  for (const json& g : {json(0), json(-1), json(-2), json(nullptr), json(1e30), json("128")}) {
    CAPTURE(g);
    json w = group;
    w["group_size"] = g;
    QuantScheme bad = ct_with(w, "pack-quantized");
    CHECK(bad.groups[0].format == WeightFormat::kUnknown);
    CHECK(mentions(bad.invalid, "config_groups.group_0.weights.group_size is " + g.dump()));
  }
  CHECK(ct_with(group, "pack-quantized").groups[0].format == WeightFormat::kUnknown);  // missing
  group["group_size"] = 128;
  QuantScheme g128 = ct_with(group, "pack-quantized");
  CHECK(g128.groups[0].format == WeightFormat::kIntPacked);
  CHECK(g128.groups[0].group_size == 128);

  // -1 means per channel (GPTQ style), explicit or inferred; null with channel or tensor.
  json channel = {{"num_bits", 8}, {"type", "float"}, {"group_size", -1}};
  QuantScheme inferred = ct_with(channel);
  CHECK(inferred.groups[0].format == WeightFormat::kFp8Channel);
  CHECK(inferred.invalid.empty());
  channel["strategy"] = "channel";
  CHECK(ct_with(channel).groups[0].format == WeightFormat::kFp8Channel);
  channel["group_size"] = nullptr;
  CHECK(ct_with(channel).groups[0].format == WeightFormat::kFp8Channel);
  CHECK(ct_with(channel).invalid.empty());
  json tensor = {{"num_bits", 8}, {"type", "float"}, {"strategy", "tensor"}, {"group_size", nullptr}};
  CHECK(ct_with(tensor).groups[0].format == WeightFormat::kFp8Tensor);
  json zero = {{"num_bits", 8}, {"type", "float"}, {"group_size", 0}};
  CHECK(ct_with(zero).groups[0].format == WeightFormat::kUnknown);  // no strategy: refused

  json block = {{"num_bits", 8}, {"type", "float"}, {"strategy", "block"}};
  for (const char* b : {"[128, 128]", "\"128x128\""}) {
    block["block_structure"] = json::parse(b);
    QuantScheme ok = ct_with(block);
    CHECK(ok.groups[0].format == WeightFormat::kFp8Block);
    CHECK((*ok.groups[0].block == std::array<uint64_t, 2>{128, 128}));
  }
  for (const char* b : {"[0, 128]", "\"0x128\"", "\"128x\"", "[1e30, 1]", "\"axb\""}) {
    CAPTURE(b);
    block["block_structure"] = json::parse(b);
    CHECK(ct_with(block).groups[0].format == WeightFormat::kUnknown);
    CHECK(mentions(ct_with(block).invalid, "block_structure is"));
  }
}

TEST_CASE("modelopt group_size: 0, -1 and fractions are invalid-config; legal sizes stay") {
  for (const json& g : {json(0), json(-1), json(16.5), json("16"), json(4294967296ULL)}) {
    CAPTURE(g);
    QuantScheme s = modelopt_with({{"quant_algo", "NVFP4"}, {"group_size", g}});
    REQUIRE(s.groups.size() == 1);
    CHECK(s.groups[0].format == WeightFormat::kUnknown);
    CHECK(mentions(s.invalid, "group_size is " + g.dump()));
  }
  QuantScheme legal = modelopt_with({{"quant_algo", "NVFP4"}, {"group_size", 16}});
  CHECK(legal.groups[0].format == WeightFormat::kNvfp4);
  CHECK(legal.invalid.empty());
  CHECK(modelopt_with({{"quant_algo", "NVFP4"}}).groups[0].group_size == 16);
  CHECK(modelopt_with({{"quant_algo", "NVFP4"}, {"group_size", nullptr}}).invalid.empty());

  // Per layer: the bad layer is not guessed, its neighbours are.
  json layers = {{"model.layers.0.mlp", {{"quant_algo", "NVFP4"}, {"group_size", 0}}},
                 {"model.layers.1.mlp", {{"quant_algo", "NVFP4"}, {"group_size", 16}}}};
  QuantScheme mixed = modelopt_with({{"quant_algo", "MIXED_PRECISION"}, {"quantized_layers", layers}});
  REQUIRE(mixed.groups.size() == 2);
  CHECK(mixed.group_for("model.layers.0.mlp.up_proj", true)->format == WeightFormat::kUnknown);
  CHECK(mixed.group_for("model.layers.1.mlp.up_proj", true)->format == WeightFormat::kNvfp4);
  CHECK(mentions(mixed.invalid, "quantized_layers.model.layers.0.mlp.group_size is 0"));

  // Thousands of bad layers: eight listed, then one line with the rest counted.
  json many = json::object();
  for (int i = 0; i < 5000; ++i)
    many[fmt::format("model.layers.{}.mlp", i)] = {{"quant_algo", "NVFP4"}, {"group_size", -1}};
  QuantScheme flood = modelopt_with({{"quant_algo", "MIXED_PRECISION"}, {"quantized_layers", many}});
  CHECK(flood.invalid_count == 5000);
  REQUIRE(flood.invalid.size() == 9);
  CHECK(mentions(flood.invalid, "4992 more values"));
}

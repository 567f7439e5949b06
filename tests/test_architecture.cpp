// The architecture model against real configs and indexes (fixtures/real, copied from
// shared/corpus): every config of a covered family models without error, every module its
// quantization config names literally is one the model defines, and the real indexes get exactly
// the findings their documented defects call for (fixtures/real SOURCES: shared/corpus/SOURCES.md).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "checkpoint/architecture.h"
#include "checkpoint/checkpoint.h"
#include "fix/fix_command.h"
#include "rules/engine.h"
#include "scan/scan.h"
#include "test_util.h"

using nlohmann::json;

namespace {

std::string real(const std::string& rel) {
  return std::string(CKD_SOURCE_DIR) + "/fixtures/real/" + rel;
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

std::set<std::string> covered_classes() {
  std::set<std::string> out;
  for (const auto& [family, classes] : ckd::architecture_families())
    out.insert(classes.begin(), classes.end());
  return out;
}

// Literal module names a quantization declaration lists (ignore lists, group targets), without
// regexes, globs or class names.
std::vector<std::string> literal_modules(const json& config, const json* hf_quant) {
  std::vector<std::string> out;
  auto take = [&](const json& list) {
    if (!list.is_array()) return;
    for (const json& e : list) {
      if (!e.is_string()) continue;
      std::string s = e.get<std::string>();
      if (s.rfind("re:", 0) == 0 || s.find_first_of("*?[") != std::string::npos) continue;
      if (s.find('.') == std::string::npos && s != "lm_head") continue;  // class names
      out.push_back(s);
    }
  };
  auto from = [&](const json& q) {
    for (const char* key : {"ignore", "modules_to_not_convert", "exclude_modules"})
      if (q.contains(key)) take(q[key]);
    if (q.contains("config_groups") && q["config_groups"].is_object())
      for (const auto& [_, g] : q["config_groups"].items())
        if (g.is_object() && g.contains("targets")) take(g["targets"]);
  };
  if (config.contains("quantization_config") && config["quantization_config"].is_object())
    from(config["quantization_config"]);
  if (hf_quant && hf_quant->contains("quantization")) from((*hf_quant)["quantization"]);
  return out;
}

size_t count_missing_outside(const ckd::ArchitectureDiff& d, const std::string& stack) {
  size_t n = 0;
  for (size_t i : d.missing)
    if (d.expected[i].stack != stack) ++n;
  return n;
}

std::vector<std::string> index_names(const std::string& dir) {
  json index = read_json(dir + "/model.safetensors.index.json");
  std::vector<std::string> names;
  for (const auto& [name, _] : index["weight_map"].items()) names.push_back(name);
  return names;
}

}  // namespace

TEST_CASE("every class of every family file is found (a scan parses only the files naming it)") {
  for (const auto& [family, classes] : ckd::architecture_families()) {
    for (const std::string& cls : classes) {
      CAPTURE(family);
      CAPTURE(cls);
      // No sizes: the class is known, its model incomplete.
      ckd::ArchitectureDiff d = ckd::expected_tensors_for_config(json{{"architectures", {cls}}});
      CHECK(d.status == ckd::ArchitectureDiff::Status::kIncomplete);
      CHECK(d.family == family);
    }
  }
  ckd::ArchitectureDiff unknown =
      ckd::expected_tensors_for_config(json{{"architectures", {"NoSuchModelForCausalLM"}}});
  CHECK(unknown.status == ckd::ArchitectureDiff::Status::kUnknown);
}

TEST_CASE("every real config of a covered family models, and names only modules it defines") {
  std::set<std::string> covered = covered_classes();
  std::vector<std::string> configs;
  for (const auto& e : std::filesystem::directory_iterator(real("configs"))) {
    std::string name = e.path().filename().string();
    if (name.ends_with("_config.json") && !name.ends_with("_hf_quant_config.json"))
      configs.push_back(e.path().string());
  }
  for (const auto& e : std::filesystem::directory_iterator(real("indexes"))) {
    if (std::filesystem::exists(e.path() / "config.json"))
      configs.push_back((e.path() / "config.json").string());
  }
  std::sort(configs.begin(), configs.end());
  size_t modeled = 0, names_checked = 0, incomplete = 0;
  for (const std::string& path : configs) {
    CAPTURE(path);
    json config = read_json(path);
    if (!config.contains("architectures") || !config["architectures"].is_array()) continue;
    std::string cls = config["architectures"][0].get<std::string>();
    ckd::ArchitectureDiff d = ckd::expected_tensors_for_config(config);
    if (!covered.count(cls)) {
      CHECK(d.status == ckd::ArchitectureDiff::Status::kUnknown);
      continue;
    }
    // A config edited by its tool (infersim renames n_routed_experts) lacks a size: one info line.
    if (d.status == ckd::ArchitectureDiff::Status::kIncomplete) {
      CHECK_MESSAGE(d.reason.find("config.json has no ") == 0, (d.reason));
      ++incomplete;
      continue;
    }
    REQUIRE_MESSAGE(d.status == ckd::ArchitectureDiff::Status::kModeled, (d.reason));
    CHECK(!d.expected.empty());
    ++modeled;
    // Module paths of the model (every prefix of every expected tensor at a dot).
    std::set<std::string> modules;
    for (const auto& t : d.expected) {
      for (size_t at = t.name.find('.'); at != std::string::npos; at = t.name.find('.', at + 1))
        modules.insert(std::string(t.name.substr(0, at)));
    }
    std::optional<json> hf;
    if (path.ends_with("_config.json")) {
      std::string hf_path = path.substr(0, path.size() - 12) + "_hf_quant_config.json";
      if (std::filesystem::exists(hf_path)) hf = read_json(hf_path);
    }
    bool tied = false;
    for (const auto& t : d.expected) tied = tied || t.name == "lm_head.weight";
    for (const std::string& m : literal_modules(config, hf ? &*hf : nullptr)) {
      if (m == "lm_head" && !tied) continue;  // recipes list lm_head even for tied embeddings
      CAPTURE(m);
      CHECK_MESSAGE(modules.count(m), "the declaration names a module the model lacks");
      ++names_checked;
    }
  }
  CHECK(modeled >= 40);
  CHECK(incomplete <= 3);
  CHECK(names_checked >= 1000);
}

TEST_CASE("real indexes: healthy ones give no architecture finding") {
  for (const char* dir : {"indexes/qwen3-1.7b", "indexes/qwen3-14b-mlx-4bit"}) {
    CAPTURE(dir);
    json config = read_json(real(dir) + "/config.json");
    ckd::ArchitectureDiff d = ckd::diff_names_against_architecture(config, index_names(real(dir)));
    REQUIRE(d.modeled());
    CHECK(d.missing.empty());
    CHECK_MESSAGE(d.unexpected.empty(), (d.unexpected.empty() ? std::string() : d.unexpected.front()));
    CHECK(d.layout.empty());
  }
}

TEST_CASE("real index: Qwen3.5 REAP declares an MTP layer it lacks, and nothing else is wrong") {
  std::string dir = real("indexes/qwen3.5-moe-reap");
  ckd::ArchitectureDiff d =
      ckd::diff_names_against_architecture(read_json(dir + "/config.json"), index_names(dir));
  REQUIRE(d.modeled());
  CHECK(!d.missing.empty());
  CHECK(count_missing_outside(d, "mtp") == 0);  // config: mtp_num_hidden_layers 1, no mtp.* keys
  CHECK(d.missing_with("mtp.fc.weight"));
  CHECK(d.unexpected.empty());
  CHECK(d.layout.empty());
}

TEST_CASE("real index: the transgqa-modified Qwen3-30B-A3B shows exactly its added tensors") {
  // No config in that repository: the real Qwen/Qwen3-30B-A3B config describes the same shape.
  json config = read_json(real("configs/Qwen--Qwen3-30B-A3B_config.json"));
  ckd::ArchitectureDiff d =
      ckd::diff_names_against_architecture(config, index_names(real("indexes/qwen3-30b-a3b-transgqa")));
  REQUIRE(d.modeled());
  CHECK(d.missing.empty());
  CHECK(d.layout.empty());
  REQUIRE(!d.unexpected.empty());
  for (const std::string& name : d.unexpected) {
    CAPTURE(name);
    bool documented = name.find(".self_attn.indexer.") != std::string::npos ||
                      name.ends_with("_proj.bias");
    CHECK(documented);
  }
}

TEST_CASE("real index: Kimi2-PCL claims DeepseekV3ForCausalLM without MLA sizes: one reason, no guess") {
  std::string dir = real("indexes/kimi2-pcl-deepseekv3");
  ckd::ArchitectureDiff d =
      ckd::diff_names_against_architecture(read_json(dir + "/config.json"), index_names(dir));
  // Its custom code uses GQA q/k/v projections; the config has no kv_lora_rank / qk_*_head_dim.
  CHECK(d.status == ckd::ArchitectureDiff::Status::kIncomplete);
  CHECK(d.reason.find("config.json has no ") == 0);
  CHECK(d.missing.empty());
  CHECK(d.unexpected.empty());
}

TEST_CASE("the triple-prefix Qwen3.6-35B-A3B FP8 checkpoint: key-layout-mismatch, fixed without --source") {
  ckd_test::TempDir tmp;
  std::string dir = tmp.path() + "/qwen36";
  ckd_test::write_small_bench(dir, "model.language_model.language_model.language_model.");

  auto before = ckd_test::scan_all_rules(dir, true);
  std::map<std::string, size_t> counts;
  for (const auto& f : before.findings) ++counts[f.name];
  CHECK(counts["key-layout-mismatch"] == 1);
  CHECK(counts["repeated-prefix"] == 0);  // said once
  CHECK(counts["missing-tensor"] == 0);
  CHECK(counts["unexpected-tensor"] == 0);
  CHECK(counts["unmatched-ignore-pattern"] == 0);

  ckd::FixRequest request;
  request.dir = dir;
  request.out_dir = tmp.path() + "/fixed";
  request.options.apply_safe = true;
  ckd::run_fix(request);
  dir = request.out_dir;
  auto after = ckd_test::scan_all_rules(dir, true);
  for (const auto& f : after.findings) {
    CAPTURE(f.name);
    CAPTURE(f.message);
    CHECK(f.severity != ckd::Severity::kError);
  }
  auto ck = ckd::Checkpoint::open(dir);
  CHECK(ck->find("model.language_model.layers.0.mlp.experts.0.down_proj.weight") != nullptr);
  CHECK(ck->find("model.visual.blocks.0.attn.qkv.weight") != nullptr);
  ckd::ArchitectureDiff d = ckd::diff_against_architecture(*ck);
  CHECK(d.modeled());
  CHECK(d.layout.empty());
  CHECK(d.missing.empty());
}

TEST_CASE("the healthy full-shape bench checkpoint models with zero architecture findings") {
  ckd_test::TempDir tmp;
  std::string dir = tmp.path() + "/bench";
  ckd_test::write_small_bench(dir);
  auto ck = ckd::Checkpoint::open(dir);
  ckd::ArchitectureDiff d = ckd::diff_against_architecture(*ck);
  REQUIRE(d.modeled());
  CHECK(d.missing.empty());
  CHECK(d.shapes.empty());
  CHECK(d.unexpected.empty());
  CHECK(d.layout.empty());
}

TEST_CASE("hostile family expressions and configs are a reason, never a crash") {
  json config = {{"architectures", {"LlamaForCausalLM"}},
                 {"hidden_size", 64},
                 {"num_hidden_layers", 2},
                 {"num_attention_heads", 0},
                 {"intermediate_size", 128},
                 {"vocab_size", 128}};
  // head_dim defaults to hidden_size / num_attention_heads: a division by zero.
  ckd::ArchitectureDiff d = ckd::expected_tensors_for_config(config);
  CHECK(d.status == ckd::ArchitectureDiff::Status::kIncomplete);
  CHECK_MESSAGE(d.reason.find("division by zero") != std::string::npos, (d.reason));

  config["num_attention_heads"] = 8;
  config["num_hidden_layers"] = 1'000'000'000;
  d = ckd::expected_tensors_for_config(config);
  CHECK(d.status == ckd::ArchitectureDiff::Status::kIncomplete);

  config["num_hidden_layers"] = "two";
  d = ckd::expected_tensors_for_config(config);
  CHECK(d.status == ckd::ArchitectureDiff::Status::kIncomplete);

  config["num_hidden_layers"] = 2;
  config["hidden_size"] = uint64_t{1} << 62;
  d = ckd::expected_tensors_for_config(config);
  CHECK(d.status == ckd::ArchitectureDiff::Status::kIncomplete);

  // 100 layers x 90,000 experts x 3 projections: refused before memory grows with it.
  json moe = {{"architectures", {"Qwen3MoeForCausalLM"}}, {"hidden_size", 64},
              {"num_hidden_layers", 100}, {"num_attention_heads", 4}, {"num_experts", 90000},
              {"moe_intermediate_size", 32}, {"vocab_size", 128}};
  d = ckd::expected_tensors_for_config(moe);
  CHECK(d.status == ckd::ArchitectureDiff::Status::kIncomplete);
  CHECK_MESSAGE(d.reason.find("too many expected tensors") != std::string::npos, (d.reason));
  CHECK(d.expected.empty());
}

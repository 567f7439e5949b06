// Engine profiles (rules/engines/*.json) and the per-engine verdicts a scan derives from its
// findings and the engines' facts: ignore-list matching, fused groups, key layout, scales.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "checkpoint/quant_scheme.h"
#include "engines/engine_profile.h"
#include "engines/engine_verdict.h"
#include "fix/fix_command.h"
#include "fixture/fixture.h"
#include "report/json_report.h"
#include "report/text_report.h"
#include "test_util.h"

using nlohmann::json;

namespace {

const std::string kSpecs = std::string(CKD_SOURCE_DIR) + "/fixtures/specs";

void build_spec(const std::string& name, const std::string& dir) {
  std::ifstream in(kSpecs + "/" + name + ".json");
  REQUIRE(in);
  ckd::fixture::build_checkpoint(ckd::fixture::resolve_spec(json::parse(in), kSpecs), dir);
}

const ckd::EngineVerdict& verdict(const ckd::ScanReport& r, const std::string& engine) {
  for (const auto& v : r.engines)
    if (v.engine == engine) return v;
  FAIL("no verdict for " << engine);
  throw std::logic_error("unreachable");
}

std::string reasons_text(const ckd::EngineVerdict& v) {
  std::string out;
  for (const auto& r : v.reasons) out += r.rule + ": " + r.message + "\n";
  return out;
}

bool has_reason(const ckd::EngineVerdict& v, const std::string& rule, const std::string& text) {
  for (const auto& r : v.reasons)
    if (r.rule == rule && r.message.find(text) != std::string::npos) return true;
  return false;
}

// The real Qwen3.5 FP8 configs list every vision module in full (shared/corpus
// qwen3.5-122B-A10B_config.json); the bench writes one "model.visual" entry. Spell it out.
void spell_out_visual_entries(const std::string& dir) {
  std::vector<std::string> visual;
  {
    auto ck = ckd::Checkpoint::open(dir);
    for (const auto& m : ck->modules().modules())
      if (m.path.rfind("model.visual.", 0) == 0 && m.is_linear()) visual.emplace_back(m.path);
  }
  REQUIRE(!visual.empty());
  std::string path = dir + "/config.json";
  json config;
  {
    std::ifstream in(path);
    config = json::parse(in);
  }
  json out = json::array();
  for (const json& e : config["quantization_config"]["modules_to_not_convert"])
    if (e != "model.visual") out.push_back(e);
  for (const std::string& v : visual) out.push_back(v);
  config["quantization_config"]["modules_to_not_convert"] = out;
  std::ofstream(path) << config.dump(2);
}

// The bench checkpoint (Qwen3.6-35B-A3B FP8 layout, small) with its modules_to_not_convert
// rewritten: every full entry ending in one of `short_names` becomes that short name.
std::string bench_with_short_ignore_names(const std::string& dir,
                                          const std::vector<std::string>& short_names) {
  ckd_test::write_small_bench(dir);
  spell_out_visual_entries(dir);
  std::string path = dir + "/config.json";
  json config;
  {
    std::ifstream in(path);
    config = json::parse(in);
  }
  json out = json::array();
  std::set<std::string> added;
  for (const json& e : config["quantization_config"]["modules_to_not_convert"]) {
    std::string entry = e.get<std::string>();
    for (const std::string& s : short_names) {
      if (entry.size() > s.size() && entry.compare(entry.size() - s.size(), s.size(), s) == 0 &&
          entry[entry.size() - s.size() - 1] == '.')
        entry = s;
    }
    if (added.insert(entry).second) out.push_back(entry);
  }
  config["quantization_config"]["modules_to_not_convert"] = out;
  std::ofstream(path) << config.dump(2);
  return dir;
}

}  // namespace

TEST_CASE("engine profiles: versions, sources, and only rule names the scan has") {
  const auto& profiles = ckd::builtin_engine_profiles();
  REQUIRE(profiles.size() == 3);
  ckd::RuleSet rules = ckd::RuleSet::builtin();
  for (const auto& p : profiles) {
    CAPTURE(p.engine);
    CHECK(!p.version.empty());
    CHECK(p.sources.size() >= 3);
    for (const auto& e : p.findings) {
      CAPTURE(e.rule);
      CHECK(rules.find(e.rule) != nullptr);
    }
    for (const auto& r : p.ignore_list_rules) CHECK(rules.find(r) != nullptr);
    for (const auto& r : p.quantized_build_rules) CHECK(rules.find(r) != nullptr);
    CHECK(!p.declaration.files.empty());
    CHECK(!p.dense.packed_error.empty());
  }
  CHECK(ckd::engine_names() == std::vector<std::string>{"sglang", "transformers", "vllm"});
}

TEST_CASE("--engine names: a typo gets a suggestion, duplicates collapse") {
  CHECK(ckd::select_engines({"vllm", "vllm"}).size() == 1);
  try {
    ckd::select_engines({"vlm"});
    FAIL("no error");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("did you mean vllm?") != std::string::npos);
  }
  CHECK_THROWS_AS(ckd::parse_engine_profile("{\"engine\": 1}", "x.json"), std::runtime_error);
  CHECK_THROWS_AS(ckd::parse_engine_profile("not json", "x.json"), std::runtime_error);
}

TEST_CASE("ignore entries as each engine matches them") {
  using ckd::IgnoreMatch;
  const std::string gate = "model.language_model.layers.0.mlp.gate";
  const std::string gate_up = "model.language_model.layers.0.mlp.gate_up_proj";
  const std::string in_a = "model.language_model.layers.0.linear_attn.in_proj_a";
  const std::string in_ba = "model.language_model.layers.0.linear_attn.in_proj_ba";
  // vLLM is_layer_skipped: the full prefix only.
  CHECK(!ckd::ignore_entry_matches(IgnoreMatch::kExact, "mlp.gate", gate));
  CHECK(ckd::ignore_entry_matches(IgnoreMatch::kExact, gate, gate));
  // Substring (vLLM modelopt, old SGLang): "mlp.gate" swallows gate_up_proj, in_proj_a not ba.
  CHECK(ckd::ignore_entry_matches(IgnoreMatch::kSubstring, "mlp.gate", gate_up));
  CHECK(!ckd::ignore_entry_matches(IgnoreMatch::kSubstring, "linear_attn.in_proj_a", in_ba));
  // SGLang _module_path_match: whole segments.
  CHECK(ckd::ignore_entry_matches(IgnoreMatch::kDotBoundary, "mlp.gate", gate));
  CHECK(!ckd::ignore_entry_matches(IgnoreMatch::kDotBoundary, "mlp.gate", gate_up));
  CHECK(ckd::ignore_entry_matches(IgnoreMatch::kDotBoundary, "model.language_model.layers.0",
                                  gate));
  CHECK(!ckd::ignore_entry_matches(IgnoreMatch::kDotBoundary, "layers.0.mlp.ga", gate));
  // transformers should_convert_module: a prefix, or a suffix of the name.
  CHECK(ckd::ignore_entry_matches(IgnoreMatch::kPrefixOrSuffix, "linear_attn.in_proj_a", in_a));
  CHECK(ckd::ignore_entry_matches(IgnoreMatch::kPrefixOrSuffix, "model.language_model.layers.",
                                  gate));
  CHECK(!ckd::ignore_entry_matches(IgnoreMatch::kPrefixOrSuffix, "mlp.gate", gate_up));
}

TEST_CASE("the indexed ignore matcher agrees with the engines' reference matching") {
  const std::vector<std::string> entries = {
      "lm_head", "mlp.gate", "linear_attn.in_proj_a", "model.layers.1", "model.layers.1.",
      "fc1", "proj", "layers.0.self_attn", "model.visual", "oj", "model.layers.0.mlp.experts",
      "self_attn.q_proj", "a.b.c.d"};
  const std::vector<std::string> modules = {
      "lm_head", "model.layers.0.mlp.gate", "model.layers.0.mlp.gate_up_proj",
      "model.layers.10.self_attn.q_proj", "model.layers.1.self_attn.o_proj",
      "model.layers.0.linear_attn.in_proj_a", "model.layers.0.linear_attn.in_proj_ba",
      "model.visual.blocks.0.attn.proj", "model.layers.0.mlp.experts.3.down_proj",
      "model.decoder.layers.23.fc1", "x.a.b.c.d.y", "a.b.c", "model.layers.0.self_attn.k_proj"};
  for (size_t n = 1; n <= entries.size(); ++n) {
    ckd::QuantScheme scheme;
    for (size_t i = 0; i < n; ++i) scheme.ignore.push_back(ckd::NamePattern::glob(entries[i]));
    scheme.index_patterns();
    for (auto how : {ckd::IgnoreMatch::kDotBoundary, ckd::IgnoreMatch::kPrefix,
                     ckd::IgnoreMatch::kPrefixOrSuffix, ckd::IgnoreMatch::kSubstring}) {
      for (const std::string& m : modules) {
        bool reference = false;
        for (size_t i = 0; i < n; ++i)
          reference = reference || ckd::ignore_entry_matches(how, entries[i], m);
        CAPTURE(n);
        CAPTURE(ckd::ignore_match_name(how));
        CAPTURE(m);
        CHECK(!ckd::engine_ignore_entry(scheme, how, m).empty() == reference);
      }
    }
    // vLLM outside experts: the exact name.
    for (const std::string& m : modules) {
      if (m.find(".experts.") != std::string::npos) continue;
      bool reference = std::find(entries.begin(), entries.begin() + static_cast<long>(n), m) !=
                       entries.begin() + static_cast<long>(n);
      CAPTURE(m);
      CHECK(!ckd::engine_ignore_entry(scheme, ckd::IgnoreMatch::kExact, m).empty() == reference);
    }
  }
  ckd::QuantScheme vllm;
  vllm.ignore = {ckd::NamePattern::glob("model.layers.0.mlp.gate"),
                 ckd::NamePattern::glob("model.layers.0.mlp.experts")};
  vllm.index_patterns();
  CHECK(ckd::engine_ignore_entry(vllm, ckd::IgnoreMatch::kExact, "model.layers.0.mlp.gate") ==
        "model.layers.0.mlp.gate");
  CHECK(ckd::engine_ignore_entry(vllm, ckd::IgnoreMatch::kExact,
                                 "model.layers.0.mlp.experts.5.up_proj") ==
        "model.layers.0.mlp.experts");
  CHECK(ckd::engine_ignore_entry(vllm, ckd::IgnoreMatch::kExact,
                                 "model.layers.1.mlp.experts.5.up_proj") == "");
  CHECK(ckd::engine_ignore_entry(vllm, ckd::IgnoreMatch::kExact, "layers.0.mlp.gate") == "");
}

TEST_CASE("experts of a layer share one ignore lookup only where no entry reaches their index") {
  // Module paths in module-table order: sorted, so a layer's experts are neighbours.
  std::vector<std::string> modules;
  for (int layer : {0, 1, 12}) {
    for (int e = 0; e < 13; ++e)
      for (const char* tail : {"down_proj", "gate_proj", "up_proj"})
        modules.push_back("model.layers." + std::to_string(layer) + ".mlp.experts." +
                          std::to_string(e) + "." + tail);
    modules.push_back("model.layers." + std::to_string(layer) + ".mlp.gate");
    modules.push_back("model.layers." + std::to_string(layer) + ".mlp.shared_expert.experts_x");
  }
  std::sort(modules.begin(), modules.end());
  // Lists whose entries cannot overlap an expert index (the shared lookup applies), and lists
  // with one entry that can: by its digit after ".experts." (or a suffix of it), or at its start.
  const std::vector<std::vector<std::string>> lists = {
      {"mlp.gate", "model.layers.1.mlp.gate", "gate_proj", "model.layers.12.mlp"},
      {"model.layers.0.mlp.experts", "experts.up_proj", "layers.1", "proj"},
      {"mlp.gate", "model.layers.0.mlp.experts.1"},
      {"mlp.gate", "experts.1.gate_proj"},
      {"mlp.gate", "s.1"},
      {"mlp.gate", ".1"},
      {"mlp.gate", "2.down_proj"},
      {"mlp.gate", "ts.12.up_proj"},
  };
  for (const auto& list : lists) {
    ckd::QuantScheme scheme;
    for (const std::string& e : list) scheme.ignore.push_back(ckd::NamePattern::glob(e));
    scheme.index_patterns();
    for (auto how : {ckd::IgnoreMatch::kExact, ckd::IgnoreMatch::kDotBoundary,
                     ckd::IgnoreMatch::kPrefix, ckd::IgnoreMatch::kPrefixOrSuffix,
                     ckd::IgnoreMatch::kSubstring}) {
      std::vector<std::string> walked = ckd::engine_ignore_entries(scheme, how, modules);
      REQUIRE(walked.size() == modules.size());
      for (size_t i = 0; i < modules.size(); ++i) {
        CAPTURE(list.back());
        CAPTURE(ckd::ignore_match_name(how));
        CAPTURE(modules[i]);
        CHECK(walked[i] == ckd::engine_ignore_entry(scheme, how, modules[i]));
        if (how == ckd::IgnoreMatch::kExact) continue;  // vLLM's FusedMoE prefix rule differs
        bool reference = std::any_of(list.begin(), list.end(), [&](const std::string& e) {
          return ckd::ignore_entry_matches(how, e, modules[i]);
        });
        CHECK(!walked[i].empty() == reference);
      }
    }
  }
}

TEST_CASE("the healthy Qwen3.6 FP8 bench checkpoint loads in every engine once its ignore list names what vLLM matches") {
  ckd_test::TempDir tmp;
  std::string dir = tmp.path() + "/bench";
  ckd_test::write_small_bench(dir);
  // As generated, the ignore list names the vision tower by one "model.visual" entry: SGLang
  // (dot boundary) and transformers (prefix) keep it in BF16, vLLM (exact) builds it FP8.
  auto as_generated = ckd_test::scan_all_rules(dir);
  CHECK(verdict(as_generated, "vllm").verdict == "misloads");
  CHECK(has_reason(verdict(as_generated, "vllm"), "false-quantization",
                   "model.visual.blocks.0.attn.proj"));
  CHECK(verdict(as_generated, "sglang").verdict == "loads");
  CHECK(verdict(as_generated, "transformers").verdict == "loads");

  spell_out_visual_entries(dir);
  auto report = ckd_test::scan_all_rules(dir);
  REQUIRE(report.engines.size() == 3);
  for (const auto& v : report.engines) {
    CAPTURE(v.engine);
    CAPTURE(reasons_text(v));
    CHECK(v.verdict == "loads");
    CHECK(v.reasons.empty());
  }
}

TEST_CASE("short ignore names: vLLM misloads (exact match), SGLang and transformers load") {
  ckd_test::TempDir tmp;
  std::string dir = bench_with_short_ignore_names(
      tmp.path() + "/bench",
      {"mlp.gate", "mlp.shared_expert_gate", "linear_attn.in_proj_a", "linear_attn.in_proj_b"});
  auto report = ckd_test::scan_all_rules(dir);
  const auto& vllm = verdict(report, "vllm");
  CAPTURE(reasons_text(vllm));
  CHECK(vllm.verdict == "misloads");
  CHECK(has_reason(vllm, "false-quantization", "by exact match"));
  CHECK(has_reason(vllm, "false-quantization", "linear_attn.in_proj_a"));
  const auto& sglang = verdict(report, "sglang");
  CAPTURE(reasons_text(sglang));
  CHECK(sglang.verdict == "loads");
  const auto& transformers = verdict(report, "transformers");
  CAPTURE(reasons_text(transformers));
  CHECK(transformers.verdict == "loads");
}

TEST_CASE("a short ignore name for one shard of a fused group: SGLang fails with the ValueError") {
  ckd_test::TempDir tmp;
  // in_proj_a listed (short), in_proj_b still listed in full: SGLang's dot-boundary match skips
  // both; with only in_proj_a short and in_proj_b dropped, the shards disagree.
  std::string dir = bench_with_short_ignore_names(tmp.path() + "/bench",
                                                  {"linear_attn.in_proj_a"});
  {
    std::string path = dir + "/config.json";
    std::ifstream in(path);
    json config = json::parse(in);
    json kept = json::array();
    for (const json& e : config["quantization_config"]["modules_to_not_convert"])
      if (e.get<std::string>().find("in_proj_b") == std::string::npos) kept.push_back(e);
    config["quantization_config"]["modules_to_not_convert"] = kept;
    in.close();
    std::ofstream(path) << config.dump(2);
  }
  auto report = ckd_test::scan_all_rules(dir);
  const auto& sglang = verdict(report, "sglang");
  CAPTURE(reasons_text(sglang));
  CHECK(sglang.verdict == "fails");
  CHECK(has_reason(sglang, "fused-shard-precision",
                   "ValueError: Detected some but not all shards of "
                   "model.language_model.layers.0.linear_attn.in_proj_ba are quantized"));
  // vLLM matches neither shard: both built FP8 over BF16 bytes.
  const auto& vllm = verdict(report, "vllm");
  CAPTURE(reasons_text(vllm));
  CHECK(vllm.verdict == "misloads");
  CHECK(has_reason(vllm, "false-quantization", "in_proj_b"));
  // transformers has no fused in_proj_ba: in_proj_b alone is built FP8.
  const auto& transformers = verdict(report, "transformers");
  CAPTURE(reasons_text(transformers));
  CHECK(transformers.verdict == "misloads");
  CHECK(has_reason(transformers, "false-quantization", "in_proj_b"));
  CHECK(!has_reason(transformers, "false-quantization", "in_proj_a"));
}

TEST_CASE("the triple-prefix Qwen3.6 checkpoint: vLLM fails with the KeyError it would raise") {
  ckd_test::TempDir tmp;
  std::string dir = tmp.path() + "/qwen36";
  ckd_test::write_small_bench(dir, "model.language_model.language_model.language_model.");
  spell_out_visual_entries(dir);
  auto report = ckd_test::scan_all_rules(dir);
  const auto& vllm = verdict(report, "vllm");
  CAPTURE(reasons_text(vllm));
  CHECK(vllm.verdict == "fails");
  CHECK(has_reason(vllm, "key-layout-mismatch",
                   "KeyError: 'language_model.language_model.layers.0.mlp.experts.w2_weight'"));
  // SGLang's load_weights skips names its params_dict lacks: no error, uninitialized weights.
  CHECK(verdict(report, "sglang").verdict == "misloads");
  CHECK(has_reason(verdict(report, "sglang"), "key-layout-mismatch",
                   "load_weights skips 'model.language_model.language_model.language_model.layers."
                   "0.mlp.experts.w2_weight'"));
  CHECK(verdict(report, "transformers").verdict == "misloads");

  // JSON and text carry the verdicts.
  std::ostringstream js;
  ckd::write_json_report(js, report);
  json doc = json::parse(js.str());
  REQUIRE(doc["engines"].size() == 3);
  bool vllm_fails = false;
  for (const json& e : doc["engines"]) {
    CHECK(e.contains("version"));
    if (e["engine"] == "vllm") {
      vllm_fails = e["verdict"] == "fails" && e["reasons"][0]["rule"] == "key-layout-mismatch";
    }
  }
  CHECK(vllm_fails);
  std::ostringstream text;
  ckd::write_text_report(text, report, ckd::TextStyle{});
  CHECK(text.str().find("vllm fails: KeyError: 'language_model.language_model.layers.0.mlp."
                        "experts.w2_weight'") != std::string::npos);

  // Repaired without --source, every engine loads it.
  ckd::FixRequest request;
  request.dir = dir;
  request.out_dir = tmp.path() + "/fixed";
  request.options.apply_safe = true;
  ckd::run_fix(request);
  auto after = ckd_test::scan_all_rules(request.out_dir);
  for (const auto& v : after.engines) {
    CAPTURE(v.engine);
    CAPTURE(reasons_text(v));
    CHECK(v.verdict == "loads");
  }
}

TEST_CASE("a missing static input scale misloads; the healthy modelopt export loads") {
  ckd_test::TempDir tmp;
  build_spec("missing-input-scale-modelopt", tmp.path() + "/bad");
  auto bad = ckd_test::scan_all_rules(tmp.path() + "/bad");
  for (const char* engine : {"vllm", "sglang"}) {
    const auto& v = verdict(bad, engine);
    CAPTURE(reasons_text(v));
    CHECK(v.verdict == "misloads");
    CHECK(has_reason(v, "missing-input-scale", "input_scale"));
  }
  // transformers reads no hf_quant_config.json: it builds the model unquantized and its load
  // report rejects the packed NVFP4 weights; the input scale is moot there.
  const auto& t = verdict(bad, "transformers");
  CAPTURE(reasons_text(t));
  CHECK(t.verdict == "fails");
  CHECK(has_reason(t, "quant-declaration", "reads no hf_quant_config.json"));
  CHECK(has_reason(t, "quant-declaration", "`ignore_mismatched_sizes` to `False`"));
  CHECK(!has_reason(t, "missing-input-scale", "input_scale"));

  build_spec("base-modelopt-nvfp4", tmp.path() + "/good");
  auto good = ckd_test::scan_all_rules(tmp.path() + "/good");
  for (const char* engine : {"vllm", "sglang"}) {
    const auto& v = verdict(good, engine);
    CAPTURE(reasons_text(v));
    CHECK(v.verdict == "loads");
  }
}

TEST_CASE("healthy architecture and GPTQ/AWQ fixtures load in every engine") {
  for (const char* spec : {"base-arch-llama", "base-arch-qwen3-moe-fp8", "base-arch-qwen3-5-moe-vl",
                           "base-arch-deepseek-v3", "base-ct-fp8-static", "base-gptq-int4",
                           "base-gptq-int3", "base-awq-gemm", "arch-gptq-qwen2", "base-arch-gpt-oss",
                           "base-gpt-oss-mxfp4", "base-arch-gemma3", "base-arch-glm4-moe",
                           "base-arch-minimax-m2"}) {
    CAPTURE(spec);
    ckd_test::TempDir tmp;
    build_spec(spec, tmp.path() + "/ck");
    auto report = ckd_test::scan_all_rules(tmp.path() + "/ck");
    for (const auto& v : report.engines) {
      CAPTURE(v.engine);
      CAPTURE(reasons_text(v));
      CHECK(v.verdict == "loads");
    }
  }
}

TEST_CASE("--engine selects the verdicts a scan computes; none skips the work") {
  ckd_test::TempDir tmp;
  build_spec("base-arch-llama", tmp.path() + "/ck");
  static const ckd::RuleSet rules = ckd::RuleSet::builtin();
  ckd::ScanRequest request;
  request.dir = tmp.path() + "/ck";
  request.rules = ckd::select_rules(rules, {}, {});
  request.engines = ckd::select_engines({"sglang"});
  auto report = ckd::run_scan(request);
  REQUIRE(report.engines.size() == 1);
  CHECK(report.engines[0].engine == "sglang");
  request.engines.clear();
  CHECK(ckd::run_scan(request).engines.empty());
}

// A gate never passes what it could not check: no weights, or a repeated prefix the architecture
// model could not place (the demo's config lacks head sizes), is no "loads".
TEST_CASE("no weights fails in every engine; a repeated prefix fails vLLM with the key it misses") {
  ckd_test::TempDir tmp;
  build_spec("no-weights-config-only", tmp.path() + "/empty");
  auto empty = ckd_test::scan_all_rules(tmp.path() + "/empty");
  for (const char* engine : {"vllm", "sglang", "transformers"}) {
    const auto& v = verdict(empty, engine);
    CAPTURE(reasons_text(v));
    CHECK(v.verdict == "fails");
    CHECK(has_reason(v, "no-weights", ""));
  }
  build_spec("repeated-prefix", tmp.path() + "/prefix");
  auto prefix = ckd_test::scan_all_rules(tmp.path() + "/prefix");
  const auto& v = verdict(prefix, "vllm");
  CAPTURE(reasons_text(v));
  CHECK(v.verdict == "fails");
  CHECK(has_reason(v, "repeated-prefix", ""));
  CHECK(verdict(prefix, "sglang").verdict == "misloads");
  CHECK(verdict(prefix, "transformers").verdict == "misloads");
}

TEST_CASE("real producers' healthy exports load where the engine reads their method") {
  // fixtures/producers: llmcompressor and modelopt output (ct-vl-moe-fp8-repacked is the one
  // with a defect on purpose). transformers has no modelopt quantizer.
  const std::string root = std::string(CKD_SOURCE_DIR) + "/fixtures/producers";
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.rfind("source-", 0) == 0 || name == "ct-vl-moe-fp8-repacked")
      continue;
    CAPTURE(name);
    auto report = ckd_test::scan_all_rules(entry.path().string());
    for (const auto& v : report.engines) {
      CAPTURE(v.engine);
      CAPTURE(reasons_text(v));
      // modelopt 0.31+ copies its declaration into config.json (quant_method modelopt), which
      // transformers has no quantizer for: a warning, then an unquantized model (packed weights
      // fail its load report, FP8 ones load unscaled).
      bool no_quantizer = v.engine == "transformers" && name.rfind("mo-", 0) == 0;
      if (!no_quantizer) {
        CHECK(v.verdict == "loads");
      } else {
        bool fp8 = name.find("fp8") != std::string::npos;
        CHECK(v.verdict == (fp8 ? "misloads" : "fails"));
        CHECK(has_reason(v, "quant-declaration", "Unknown quantization type, got modelopt"));
      }
    }
    ++checked;
  }
  CHECK(checked >= 12);
}

namespace {

std::string copy_fixture(const std::string& from, const std::string& to) {
  std::filesystem::copy(from, to, std::filesystem::copy_options::recursive);
  return to;
}

void edit_config(const std::string& dir, const std::function<void(json&)>& edit) {
  std::string path = dir + "/config.json";
  json config;
  {
    std::ifstream in(path);
    config = json::parse(in);
  }
  edit(config);
  std::ofstream(path) << config.dump(2);
}

}  // namespace

// The bundled demo: every verdict quotes the error its engine raises first (issue 11 item 3).
TEST_CASE("the demo: each engine's first error, before and after fix --apply-safe") {
  const std::string demo = std::string(CKD_SOURCE_DIR) + "/fixtures/demo";
  auto report = ckd_test::scan_all_rules(demo);
  const auto& vllm = verdict(report, "vllm");
  CAPTURE(reasons_text(vllm));
  CHECK(vllm.verdict == "fails");
  // Qwen3MoeForCausalLM's load_weights indexes params_dict for plain names: the first key of
  // the first shard, sorted, is the embedding.
  REQUIRE(!vllm.reasons.empty());
  CHECK(vllm.reasons.front().rule == "key-layout-mismatch");
  CHECK(vllm.reasons.front().message.find(
            "KeyError: 'language_model.language_model.embed_tokens.weight'") == 0);
  const auto& transformers = verdict(report, "transformers");
  CAPTURE(reasons_text(transformers));
  CHECK(transformers.verdict == "fails");
  CHECK(has_reason(transformers, "quant-declaration",
                   "`ignore_mismatched_sizes` to `False`, thus raising an error (lm_head.weight"));
  CHECK(!has_reason(transformers, "unsupported-quant-method", ""));
  const auto& sglang = verdict(report, "sglang");
  CAPTURE(reasons_text(sglang));
  CHECK(sglang.verdict == "fails");
  CHECK(has_reason(sglang, "quantized-ignored-module", "rejects lm_head.weight"));

  ckd_test::TempDir tmp;
  ckd::FixRequest request;
  request.dir = demo;
  request.out_dir = tmp.path() + "/fixed";
  request.options.apply_safe = true;
  ckd::run_fix(request);
  auto after = ckd_test::scan_all_rules(request.out_dir);
  for (const auto& f : after.findings) CHECK(f.name != "key-layout-mismatch");
  const auto& vllm_after = verdict(after, "vllm");
  CAPTURE(reasons_text(vllm_after));
  CHECK(vllm_after.verdict == "fails");
  // lm_head is built in high precision; AutoWeightsLoader finds no parameter for its scales.
  CHECK(vllm_after.reasons.front().message.find(
            "ValueError: There is no module or parameter named 'lm_head.input_scale' in "
            "Qwen3MoeForCausalLM") == 0);
  CHECK(has_reason(vllm_after, "missing-input-scale", "experts 1, 3"));
}

// mlx-lm writes "quantization" and, since "support hf model tree", the same dict as
// "quantization_config" with no quant_method (mlx_lm/utils.py quantize_model, save_config).
TEST_CASE("MLX checkpoints: each engine's own error, with and without quantization_config") {
  const std::string mlx = std::string(CKD_SOURCE_DIR) + "/fixtures/compare/mlx-4bit";
  auto report = ckd_test::scan_all_rules(mlx);
  const auto& vllm = verdict(report, "vllm");
  CAPTURE(reasons_text(vllm));
  CHECK(vllm.verdict == "fails");
  // quant_method '' is no quantization: an unquantized model, whose loader meets lm_head.biases
  // first (sorted keys) outside the inner model.
  CHECK(has_reason(vllm, "quant-declaration",
                   "ValueError: There is no module or parameter named 'lm_head.biases' in "
                   "Qwen3_5MoeForCausalLM"));
  CHECK(has_reason(vllm, "quant-declaration", "takes the model as unquantized"));
  CHECK(!has_reason(vllm, "unsupported-quant-method", ""));
  const auto& sglang = verdict(report, "sglang");
  CAPTURE(reasons_text(sglang));
  CHECK(sglang.verdict == "fails");
  CHECK(has_reason(sglang, "quant-declaration", "ValueError: Unknown quantization method: . Must"));
  const auto& transformers = verdict(report, "transformers");
  CAPTURE(reasons_text(transformers));
  CHECK(transformers.verdict == "fails");
  CHECK(has_reason(transformers, "quant-declaration", "has no `quant_method` attribute"));

  // An older conversion with "quantization" only: nobody sees a declaration.
  ckd_test::TempDir tmp;
  std::string old = copy_fixture(mlx, tmp.path() + "/old");
  edit_config(old, [](json& c) { c.erase("quantization_config"); });
  auto old_report = ckd_test::scan_all_rules(old);
  for (const auto& v : old_report.engines) {
    CAPTURE(v.engine);
    CAPTURE(reasons_text(v));
    CHECK(v.verdict == "fails");
    CHECK(has_reason(v, "quant-declaration", "without a quantization_config"));
  }
  CHECK(has_reason(verdict(old_report, "transformers"), "quant-declaration",
                   "(lm_head.weight | MISMATCH | ckpt U32 [256, 16])"));
  CHECK(has_reason(verdict(old_report, "sglang"), "quant-declaration", "rejects lm_head.weight"));

  // Control: a declaration with its quant_method, which every engine reads.
  auto declared =
      ckd_test::scan_all_rules(std::string(CKD_SOURCE_DIR) + "/fixtures/compare/ct-nvfp4");
  for (const auto& v : declared.engines) {
    CAPTURE(v.engine);
    CAPTURE(reasons_text(v));
    CHECK(!has_reason(v, "quant-declaration", ""));
  }
}

// Older AMD Quark exports name the scales after the quantizer modules (weight_quantizer.scale,
// input_quantizer.scale). transformers' Quark model has parameters by those very names
// (quantizers/quantizer_quark.py CHECKPOINT_KEYS maps the newer names onto them); vLLM's and
// SGLang's Quark schemes create weight_scale / input_scale and nothing renames the old names.
TEST_CASE(
    "older Quark scale names: vLLM fails on the first lookup, SGLang misloads, transformers "
    "loads") {
  ckd_test::TempDir tmp;
  build_spec("quark-fp8-quantizer-names", tmp.path() + "/dense");
  auto dense = ckd_test::scan_all_rules(tmp.path() + "/dense");
  const auto& vllm = verdict(dense, "vllm");
  CAPTURE(reasons_text(vllm));
  CHECK(vllm.verdict == "fails");
  // LlamaForCausalLM: mlp.down_proj sorts first and takes the plain branch (params_dict[name]).
  CHECK(has_reason(vllm, "unread-scale-names",
                   "KeyError: 'layers.0.mlp.down_proj.input_quantizer.scale'"));
  const auto& sglang = verdict(dense, "sglang");
  CAPTURE(reasons_text(sglang));
  CHECK(sglang.verdict == "misloads");
  CHECK(has_reason(sglang, "unread-scale-names", "scales keep their initial values"));
  CHECK(verdict(dense, "transformers").verdict == "loads");

  // An MoE: the expert mapping renames the shard, then looks the name up.
  auto moe = ckd_test::scan_all_rules(std::string(CKD_SOURCE_DIR) +
                                      "/fixtures/compare/quark-fp8-channel-legacy");
  const auto& vllm_moe = verdict(moe, "vllm");
  CAPTURE(reasons_text(vllm_moe));
  CHECK(vllm_moe.verdict == "fails");
  CHECK(has_reason(vllm_moe, "unread-scale-names",
                   "KeyError: 'layers.0.mlp.experts.w2_input_quantizer.scale'"));
  CHECK(verdict(moe, "sglang").verdict == "misloads");
  CHECK(verdict(moe, "transformers").verdict == "loads");

  // Controls: the same exports under the current names load everywhere.
  build_spec("base-quark-fp8", tmp.path() + "/current");
  for (const std::string& dir :
       {tmp.path() + "/current", std::string(CKD_SOURCE_DIR) + "/fixtures/compare/quark-fp8"}) {
    auto report = ckd_test::scan_all_rules(dir);
    for (const auto& v : report.engines) {
      CAPTURE(dir);
      CAPTURE(v.engine);
      CAPTURE(reasons_text(v));
      CHECK(v.verdict == "loads");
      CHECK(!has_reason(v, "unread-scale-names", ""));
    }
  }
}

// Control for where vLLM's first error lands: with tied embeddings there is no lm_head, and the
// first name the unquantized model cannot take is inside the inner model.
TEST_CASE("MLX with tied embeddings: vLLM's KeyError on the embedding's biases") {
  ckd_test::TempDir tmp;
  build_spec("mlx-4bit-tied-embeddings", tmp.path() + "/tied");
  auto report = ckd_test::scan_all_rules(tmp.path() + "/tied");
  CHECK(report.findings.empty());
  const auto& vllm = verdict(report, "vllm");
  CAPTURE(reasons_text(vllm));
  CHECK(vllm.verdict == "fails");
  CHECK(has_reason(vllm, "quant-declaration", "KeyError: 'embed_tokens.biases'"));
  CHECK(!has_reason(vllm, "quant-declaration", "lm_head"));
  // A per-module override is summarised, not dumped.
  CHECK(has_reason(verdict(report, "transformers"), "quant-declaration",
                   "{\"bits\":4,\"group_size\":64} and 1 per-module entry"));
}

// A quantized lm_head that the ignore list keeps in high precision: vLLM's AutoWeightsLoader
// finds no parameter for its scales (lm_head sits outside the inner model), SGLang's vocab
// weight loader rejects the packed shape. The healthy modelopt export is the control above.
TEST_CASE("a quantized lm_head the ignore list excludes fails where the engine builds it dense") {
  ckd_test::TempDir tmp;
  build_spec("quantized-lm-head-excluded", tmp.path() + "/lm");
  auto report = ckd_test::scan_all_rules(tmp.path() + "/lm");
  const auto& vllm = verdict(report, "vllm");
  CAPTURE(reasons_text(vllm));
  CHECK(vllm.verdict == "fails");
  CHECK(has_reason(vllm, "quantized-ignored-module",
                   "ValueError: There is no module or parameter named 'lm_head.input_scale'"));
  const auto& sglang = verdict(report, "sglang");
  CAPTURE(reasons_text(sglang));
  CHECK(sglang.verdict == "fails");
  CHECK(has_reason(sglang, "quantized-ignored-module", "rejects lm_head.weight"));
}

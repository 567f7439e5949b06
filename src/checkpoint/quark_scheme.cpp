// The AMD Quark declaration (quant_method "quark"), as vLLM reads it
// (model_executor/layers/quantization/quark/quark.py QuarkConfig): `global_quant_config`
// applies to every linear, `layer_quant_config` overrides it per fnmatch pattern (checked
// first, in order), `exclude` leaves modules unquantized (exact names or "re:" regexes, quark/
// utils.py should_ignore_layer; Quark's own exports also write fnmatch globs), and
// `export.kv_cache_group` names the projections whose `output_tensors` spec quantizes the KV
// cache. Each spec's `weight` / `input_tensors` hold dtype, qscheme (per_tensor, per_channel,
// per_group), group_size, scale_format and is_dynamic. Modelled weight formats:
// - fp8_e4m3 per_tensor / per_channel (schemes/quark_w8a8_fp8.py: F8_E4M3 weight, F32
//   weight_scale [1] per shard or [out], input_scale when static);
// - fp4 per_group 32 with e8m0 scales, OCP MXFP4 (schemes/quark_ocp_mx.py: U8 [out, in/2]
//   weight, U8 E8M0 weight_scale [out, in/32]); fp8_e4m3 per_group 32 e8m0 is MXFP8.
// Other specs (int4/int8, fp6, the two-level fp8+fp4 / fp8+int4 lists) are recorded as not
// modelled, never guessed.
#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "checkpoint/scheme_readers.h"

namespace ckd {

using nlohmann::json;

namespace {

std::string text_at(const json& j, const char* key) {
  if (j.is_object() && j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  return "";
}

uint64_t group_size_of(const json& w) {
  if (w.contains("group_size") && w["group_size"].is_number_integer() &&
      w["group_size"].get<int64_t>() > 0) {
    return static_cast<uint64_t>(w["group_size"].get<int64_t>());
  }
  return 0;
}

// One quantization spec ({"weight": ..., "input_tensors": ...}) as a group named `name`.
QuantGroup quark_group(const std::string& name, const json& spec, QuantScheme& s) {
  QuantGroup g;
  g.name = name;
  const json& w = spec.is_object() && spec.contains("weight") ? spec["weight"] : json();
  if (w.is_null()) {
    g.format = WeightFormat::kNone;  // activations or outputs only
    return g;
  }
  std::string dtype = text_at(w, "dtype");
  std::string qscheme = text_at(w, "qscheme");
  std::string scale_format = text_at(w, "scale_format");
  uint64_t group = group_size_of(w);
  g.symmetric = !(w.is_object() && w.contains("symmetric") && w["symmetric"].is_boolean() &&
                  !w["symmetric"].get<bool>());
  g.format = WeightFormat::kUnknown;
  if (w.is_object() && dtype == "fp8_e4m3") {
    g.bits = 8;
    if (qscheme == "per_tensor") g.format = WeightFormat::kFp8Tensor;
    if (qscheme == "per_channel") g.format = WeightFormat::kFp8Channel;
    if (qscheme == "per_group" && group == 32 && scale_format == "e8m0") {
      g.format = WeightFormat::kMxfp8;
      g.group_size = 32;
    }
  } else if (w.is_object() && dtype == "fp4" && qscheme == "per_group" && group == 32 &&
             scale_format == "e8m0") {
    g.bits = 4;
    g.group_size = 32;
    g.format = WeightFormat::kMxfp4;
  }
  if (g.format == WeightFormat::kUnknown) {
    std::string shown = w.dump(-1, ' ', false, json::error_handler_t::replace);
    if (shown.size() > 120) shown = shown.substr(0, 117) + "...";
    s.problems.push_back(fmt::format(
        "quark {} weight spec {} is not modelled (FP8 per-tensor / per-channel and OCP MXFP4 "
        "are); its modules are not checked",
        name, shown));
  }
  const json& in = spec.contains("input_tensors") ? spec["input_tensors"] : json();
  if (in.is_object()) {
    bool dynamic =
        in.contains("is_dynamic") && in["is_dynamic"].is_boolean() && in["is_dynamic"].get<bool>();
    g.input = dynamic ? InputActivations::kDynamic : InputActivations::kStatic;
  }
  return g;
}

std::string config_text(const std::string& text) {
  return text.size() > 80 ? text.substr(0, 77) + "..." : text;
}

// Exclude entries: "re:" regexes and exact names as vLLM matches them; an entry with '*' or
// '?' is an fnmatch glob, as Quark writes its own patterns.
NamePattern exclude_entry(const std::string& text) {
  if (text.rfind("re:", 0) != 0 && text.find_first_of("*?") != std::string::npos)
    return NamePattern::glob(text);
  NamePattern p = NamePattern::compressed_tensors(text);
  if (p.kind == NamePattern::Kind::kClass) p.kind = NamePattern::Kind::kExact;
  return p;
}

}  // namespace

void read_quark_scheme(const json& qc, QuantScheme& s) {
  s.method = QuantMethod::kQuark;
  size_t regexes = 0;
  if (qc.contains("layer_quant_config") && qc["layer_quant_config"].is_object()) {
    for (const auto& [pattern, spec] : qc["layer_quant_config"].items()) {
      if (!spec.is_object()) continue;
      QuantGroup g = quark_group(pattern, spec, s);
      // vLLM _find_matched_config: a pattern without '*' matches as a substring of the name.
      g.targets.push_back(NamePattern::glob(
          pattern.find('*') == std::string::npos ? "*" + pattern + "*" : pattern));
      s.groups.push_back(std::move(g));
    }
  }
  if (qc.contains("global_quant_config") && qc["global_quant_config"].is_object()) {
    s.groups.push_back(quark_group("global_quant_config", qc["global_quant_config"], s));
  } else {
    s.problems.push_back("quark declaration without global_quant_config; vLLM cannot read it");
  }
  if (qc.contains("exclude") && qc["exclude"].is_array()) {
    for (const auto& e : qc["exclude"]) {
      if (!e.is_string()) continue;
      const std::string& text = e.get_ref<const std::string&>();
      if (text.rfind("re:", 0) == 0 && ++regexes > kMaxRegexEntries) continue;
      s.ignore.push_back(exclude_entry(text));
    }
  }
  s.ignore_key = "exclude";
  // export.kv_cache_group: the projections whose output_tensors spec is the KV cache's; vLLM
  // QuarkKVCacheMethod accepts fp8_e4m3 per_tensor only.
  const json& exp = qc.contains("export") ? qc["export"] : json();
  if (exp.is_object() && exp.contains("kv_cache_group") && exp["kv_cache_group"].is_array() &&
      !exp["kv_cache_group"].empty()) {
    s.kv_cache = true;
    s.kv_cache_key = "export.kv_cache_group";
    s.kv_cache_strategy = "tensor";
    // The output_tensors spec of the layer_quant_config entries kv_cache_group names.
    const json& group = exp["kv_cache_group"];
    if (qc.contains("layer_quant_config") && qc["layer_quant_config"].is_object()) {
      for (const auto& item : qc["layer_quant_config"].items()) {
        // Named, not a structured binding: clang 14 does not let a lambda capture one.
        const std::string& pattern = item.key();
        const json& spec = item.value();
        if (!spec.is_object() || !spec.contains("output_tensors")) continue;
        bool kv = std::any_of(group.begin(), group.end(), [&](const json& e) {
          return e.is_string() && glob_match(e.get_ref<const std::string&>(), pattern);
        });
        std::string qscheme = text_at(spec["output_tensors"], "qscheme");
        if (kv && !qscheme.empty() && qscheme != "per_tensor" && qscheme != s.kv_cache_strategy) {
          s.kv_cache_strategy = qscheme;
          s.problems.push_back(fmt::format(
              "quark KV cache ({}) is quantized {}; vLLM's QuarkKVCacheMethod accepts per_tensor "
              "only (NotImplementedError at load)",
              config_text(pattern), qscheme));
        }
      }
    }
  }
}

}  // namespace ckd

#include "checkpoint/quant_scheme.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <re2/re2.h>
#include <nlohmann/json.hpp>

#include "checkpoint/scheme_readers.h"

namespace ckd {

using nlohmann::json;

const char* quant_method_name(QuantMethod m) {
  switch (m) {
    case QuantMethod::kNone:
      return "none";
    case QuantMethod::kFp8:
      return "fp8";
    case QuantMethod::kCompressedTensors:
      return "compressed-tensors";
    case QuantMethod::kModelOpt:
      return "modelopt";
    case QuantMethod::kMxfp4:
      return "mxfp4";
    case QuantMethod::kGptq:
      return "gptq";
    case QuantMethod::kAwq:
      return "awq";
    case QuantMethod::kUnknown:
      return "unknown";
  }
  return "?";
}

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string str_or(const json& j, const char* key, std::string fallback = "") {
  if (j.is_object() && j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  return fallback;
}

uint64_t uint_or(const json& j, const char* key, uint64_t fallback = 0) {
  if (j.is_object() && j.contains(key) && j[key].is_number_integer() && j[key].get<int64_t>() > 0) {
    return j[key].get<uint64_t>();
  }
  return fallback;
}

std::optional<std::array<uint64_t, 2>> block_of(const json& j) {
  if (!j.is_array() || j.size() != 2) return std::nullopt;
  if (!j[0].is_number_integer() || !j[1].is_number_integer()) return std::nullopt;
  if (j[0].get<int64_t>() <= 0 || j[1].get<int64_t>() <= 0) return std::nullopt;
  return std::array<uint64_t, 2>{j[0].get<uint64_t>(), j[1].get<uint64_t>()};
}

// Python-style fnmatch translated to an anchored RE2 pattern.
std::string glob_to_regex(std::string_view glob) {
  std::string re = "^";
  for (char c : glob) {
    if (c == '*')
      re += ".*";
    else if (c == '?')
      re += ".";
    else
      re += RE2::QuoteMeta(std::string(1, c));
  }
  return re + "$";
}

std::vector<NamePattern> glob_list(const json& j) {
  std::vector<NamePattern> out;
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (e.is_string()) out.push_back(NamePattern::glob(e.get<std::string>()));
  }
  return out;
}

std::vector<NamePattern> ct_list(const json& j) {
  std::vector<NamePattern> out;
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (e.is_string()) out.push_back(NamePattern::compressed_tensors(e.get<std::string>()));
  }
  return out;
}

InputActivations ct_input(const json& args) {
  if (!args.is_object()) return InputActivations::kNone;
  const json& dyn = args.contains("dynamic") ? args["dynamic"] : json(false);
  if (dyn.is_boolean())
    return dyn.get<bool>() ? InputActivations::kDynamic : InputActivations::kStatic;
  // "local": per-group scales dynamic, the global (input_global_scale) static and stored.
  if (dyn.is_string() && dyn.get<std::string>() == "local") return InputActivations::kStatic;
  return InputActivations::kDynamic;
}

WeightFormat ct_weight_format(const json& w, const std::string& format, QuantGroup& g) {
  if (!w.is_object()) return WeightFormat::kNone;
  g.bits = static_cast<int>(uint_or(w, "num_bits", 8));
  std::string type = str_or(w, "type", "int");
  std::string strategy = str_or(w, "strategy");
  g.group_size = uint_or(w, "group_size");
  if (w.contains("symmetric") && w["symmetric"].is_boolean())
    g.symmetric = w["symmetric"].get<bool>();
  if (w.contains("block_structure")) g.block = block_of(w["block_structure"]);
  // actorder "group" (or the legacy true) saves weight_g_idx; "weight" order is undone on save.
  if (w.contains("actorder")) {
    const json& order = w["actorder"];
    g.act_order = (order.is_string() && order.get<std::string>() == "group") ||
                  (order.is_boolean() && order.get<bool>());
  }
  std::string scale_dtype = str_or(w, "scale_dtype");

  if (format == "nvfp4-pack-quantized") return WeightFormat::kNvfp4;
  if (format == "mxfp4-pack-quantized") return WeightFormat::kMxfp4;
  if (format == "mxfp8-quantized") return WeightFormat::kMxfp8;
  if (format == "pack-quantized" || format == "marlin-24") return WeightFormat::kIntPacked;
  if (format == "int-quantized" || (format == "naive-quantized" && type == "int"))
    return WeightFormat::kInt8;
  if (type == "float" && g.bits == 4)
    return g.group_size == 32 ? WeightFormat::kMxfp4 : WeightFormat::kNvfp4;
  if (type == "float" && g.bits == 8) {
    if (strategy == "block" || g.block) return WeightFormat::kFp8Block;
    if (strategy == "channel") return WeightFormat::kFp8Channel;
    if (g.group_size == 32 && scale_dtype.find("uint8") != std::string::npos)
      return WeightFormat::kMxfp8;
    if (strategy == "group" || strategy == "tensor_group" || g.group_size > 0)
      return WeightFormat::kFp8Group;
    return WeightFormat::kFp8Tensor;
  }
  if (type == "int") return g.bits == 8 ? WeightFormat::kInt8 : WeightFormat::kIntPacked;
  return WeightFormat::kUnknown;
}

void parse_compressed_tensors(const json& qc, QuantScheme& s) {
  s.method = QuantMethod::kCompressedTensors;
  std::string top_format = str_or(qc, "format");
  if (qc.contains("config_groups") && qc["config_groups"].is_object()) {
    for (const auto& [name, group] : qc["config_groups"].items()) {
      if (!group.is_object()) continue;
      QuantGroup g;
      g.name = name;
      g.targets = ct_list(group.value("targets", json::array()));
      std::string format = str_or(group, "format", top_format);
      if (format == "dense" || format.rfind("sparse", 0) == 0) {
        g.format = WeightFormat::kNone;
        // save_compressed=False writes "dense" (llmcompressor compressed_tensors_utils.py
        // get_model_compressor): the weights' args still say what the sidecars quantize to.
        if (format == "dense" && group.contains("weights") && group["weights"].is_object())
          g.dense_of = ct_weight_format(group["weights"], "", g);
      } else {
        g.format = ct_weight_format(group.value("weights", json()), format, g);
      }
      g.input = ct_input(group.value("input_activations", json()));
      s.groups.push_back(std::move(g));
    }
  }
  s.ignore = ct_list(qc.value("ignore", json::array()));
  s.ignore_key = "ignore";
  s.status = str_or(qc, "quantization_status");
  s.kv_cache = qc.contains("kv_cache_scheme") && qc["kv_cache_scheme"].is_object();
}

QuantGroup modelopt_group(const std::string& algo_in, uint64_t group_size, QuantScheme& s) {
  std::string algo = upper(algo_in);
  QuantGroup g;
  g.name = algo;
  if (algo == "FP8") {
    g.format = WeightFormat::kFp8Tensor, g.bits = 8, g.input = InputActivations::kStatic;
  } else if (algo == "FP8_PER_CHANNEL_PER_TOKEN") {
    g.format = WeightFormat::kFp8Channel, g.bits = 8, g.input = InputActivations::kDynamic;
  } else if (algo == "FP8_PB_WO") {
    g.format = WeightFormat::kFp8Block, g.bits = 8, g.block = {{128, 128}};
  } else if (algo == "NVFP4" || algo == "NVFP4_AWQ") {
    g.format = WeightFormat::kNvfp4, g.bits = 4, g.input = InputActivations::kStatic;
    g.group_size = group_size ? group_size : 16;
  } else if (algo == "W4A16_NVFP4") {
    g.format = WeightFormat::kNvfp4, g.bits = 4, g.group_size = group_size ? group_size : 16;
  } else if (algo == "MXFP8") {
    g.format = WeightFormat::kMxfp8, g.bits = 8, g.group_size = 32;
  } else if (algo == "MXFP4") {  // U8 [out, in/2] weight, U8 E8M0 weight_scale [out, in/32]
    g.format = WeightFormat::kMxfp4, g.bits = 4, g.group_size = 32;
  } else {
    g.format = WeightFormat::kUnknown;
    s.problems.push_back(
        fmt::format("modelopt quant_algo \"{}\" is not modelled; its modules are "
                    "not checked",
                    algo_in));
  }
  return g;
}

void parse_modelopt(const json& q, QuantScheme& s) {
  s.method = QuantMethod::kModelOpt;
  s.method_name = "modelopt";
  s.algo = str_or(q, "quant_algo");
  uint64_t group_size = uint_or(q, "group_size");
  if (upper(s.algo) == "MIXED_PRECISION" && q.contains("quantized_layers") &&
      q["quantized_layers"].is_object()) {
    for (const auto& [prefix, layer] : q["quantized_layers"].items()) {
      QuantGroup g =
          modelopt_group(str_or(layer, "quant_algo"), uint_or(layer, "group_size", group_size), s);
      g.name = prefix;
      g.targets.push_back(NamePattern::glob(prefix));
      s.groups.push_back(std::move(g));
    }
  } else if (!s.algo.empty()) {
    s.groups.push_back(modelopt_group(s.algo, group_size, s));
  }
  if (q.contains("exclude_modules")) {
    s.ignore = glob_list(q["exclude_modules"]);
    s.ignore_key = "exclude_modules";
  } else if (q.contains("ignore")) {
    s.ignore = glob_list(q["ignore"]);
    s.ignore_key = "ignore";
  }
  s.kv_cache = (q.contains("kv_cache_quant_algo") && q["kv_cache_quant_algo"].is_string()) ||
               (q.contains("kv_cache_scheme") && q["kv_cache_scheme"].is_object());
}

bool looks_like_modelopt(const json& qc) {
  return qc.contains("quant_algo") ||
         (qc.contains("producer") && str_or(qc["producer"], "name") == "modelopt");
}

}  // namespace

NamePattern NamePattern::compressed_tensors(std::string text) {
  NamePattern p;
  p.text = text;
  if (text.rfind("re:", 0) == 0) {
    p.kind = Kind::kRegex;
    // Python re.match: anchored at the start only.
    p.regex = std::make_shared<re2::RE2>("^(?:" + text.substr(3) + ")", RE2::Quiet);
  } else if (!text.empty() && std::isupper(static_cast<unsigned char>(text[0])) &&
             text.find('.') == std::string::npos) {
    p.kind = Kind::kClass;  // "Linear", "Embedding", ...: a module class name
  } else {
    p.kind = Kind::kExact;
  }
  return p;
}

NamePattern NamePattern::glob(std::string text) {
  NamePattern p;
  p.text = text;
  p.kind = Kind::kGlob;
  if (text.find_first_of("*?[") != std::string::npos) {
    p.regex = std::make_shared<re2::RE2>(glob_to_regex(text), RE2::Quiet);
  }
  return p;
}

bool NamePattern::valid() const {
  return !regex || regex->ok();
}

bool NamePattern::matches(std::string_view module, bool is_linear) const {
  switch (kind) {
    case Kind::kExact:
      return module == text;
    case Kind::kClass:
      return text == "Linear" && is_linear;
    case Kind::kRegex:
      return regex->ok() && RE2::PartialMatch(module, *regex);
    case Kind::kGlob: {
      if (module == text) return true;
      // "x" and "x*" also cover the module's children ("x.weight" style prefixes).
      std::string_view stem = literal_stem();
      if (module.size() > stem.size() && module.substr(0, stem.size()) == stem &&
          module[stem.size()] == '.' && stem.find_first_of("*?[") == std::string_view::npos) {
        return true;
      }
      return regex && regex->ok() && RE2::FullMatch(module, *regex);
    }
  }
  return false;
}

std::string_view NamePattern::literal_stem() const {
  std::string_view stem = text;
  if (kind != Kind::kGlob) return stem;
  while (!stem.empty() && (stem.back() == '*' || stem.back() == '.')) stem.remove_suffix(1);
  return stem;
}

bool QuantScheme::quantizes() const {
  return std::any_of(groups.begin(), groups.end(),
                     [](const QuantGroup& g) { return g.format != WeightFormat::kNone; });
}

const QuantGroup* QuantScheme::group_for(std::string_view module, bool is_linear) const {
  for (const QuantGroup& g : groups) {
    if (g.targets.empty()) {
      if (is_linear) return &g;
      continue;
    }
    for (const NamePattern& t : g.targets) {
      if (t.matches(module, is_linear)) return &g;
    }
  }
  return nullptr;
}

void QuantScheme::index_patterns() {
  literal_ignore_.clear();
  wildcard_ignore_.clear();
  for (size_t i = 0; i < ignore.size(); ++i) {
    const NamePattern& p = ignore[i];
    if (p.kind == NamePattern::Kind::kClass) continue;
    if (p.regex) {
      wildcard_ignore_.push_back(i);
    } else {
      // A literal glob also covers its children ("x*" and "x.*" cover "x.y"); a literal
      // compressed-tensors entry names exactly one module.
      literal_ignore_.emplace(std::string(p.literal_stem()), i);
    }
  }
}

const NamePattern* QuantScheme::ignored_by(std::string_view module, bool is_linear) const {
  if (!literal_ignore_.empty()) {
    std::string_view path = module;
    if (auto it = literal_ignore_.find(path); it != literal_ignore_.end())
      return &ignore[it->second];
    for (size_t dot = path.rfind('.'); dot != std::string_view::npos; dot = path.rfind('.')) {
      path = path.substr(0, dot);
      auto it = literal_ignore_.find(path);
      if (it != literal_ignore_.end() && ignore[it->second].kind == NamePattern::Kind::kGlob)
        return &ignore[it->second];
    }
  }
  for (size_t i : wildcard_ignore_) {
    // A glob may name a parent module ("model.layers.*.self_attn" covers its projections);
    // a compressed-tensors regex is matched against the module itself, as the library does.
    std::string_view candidate = module;
    while (true) {
      if (ignore[i].matches(candidate, is_linear)) return &ignore[i];
      size_t dot = candidate.rfind('.');
      if (ignore[i].kind != NamePattern::Kind::kGlob || dot == std::string_view::npos) break;
      candidate = candidate.substr(0, dot);
    }
  }
  return nullptr;
}

QuantScheme parse_quant_scheme(const json* config, const json* hf_quant_config) {
  QuantScheme s;
  if (hf_quant_config && hf_quant_config->is_object()) {
    const json& hq = *hf_quant_config;
    const json& q = hq.contains("quantization") ? hq["quantization"] : hq;
    if (q.is_object()) {
      parse_modelopt(q, s);
      s.source_file = "hf_quant_config.json";
      s.index_patterns();
      return s;
    }
  }
  if (!config || !config->is_object()) return s;
  const json* qc = nullptr;
  for (const char* key : {"quantization_config", "compression_config"}) {
    if (config->contains(key) && (*config)[key].is_object()) {
      qc = &(*config)[key];
      break;
    }
  }
  if (!qc && config->contains("text_config") && (*config)["text_config"].is_object() &&
      (*config)["text_config"].contains("quantization_config")) {
    qc = &(*config)["text_config"]["quantization_config"];
  }
  if (!qc || !qc->is_object()) return s;
  s.source_file = "config.json";
  s.method_name = str_or(*qc, "quant_method");
  std::string method = lower(s.method_name);
  if (method == "fp8") {
    s.method = QuantMethod::kFp8;
    QuantGroup g;
    g.name = "fp8";
    g.bits = 8;
    g.block =
        qc->contains("weight_block_size") ? block_of((*qc)["weight_block_size"]) : std::nullopt;
    g.format = g.block ? WeightFormat::kFp8Block : WeightFormat::kFp8Tensor;
    g.input = str_or(*qc, "activation_scheme", "dynamic") == "static" ? InputActivations::kStatic
                                                                      : InputActivations::kDynamic;
    s.groups.push_back(g);
    for (const char* key : {"modules_to_not_convert", "ignored_layers"}) {
      if (qc->contains(key) && (*qc)[key].is_array()) {
        s.ignore = glob_list((*qc)[key]);
        s.ignore_key = key;
        break;
      }
    }
  } else if (method == "compressed-tensors") {
    parse_compressed_tensors(*qc, s);
  } else if (method == "modelopt" || (method.empty() && looks_like_modelopt(*qc))) {
    parse_modelopt(*qc, s);
  } else if (method == "mxfp4") {
    s.method = QuantMethod::kMxfp4;
    QuantGroup g;
    g.name = "mxfp4";
    g.format = WeightFormat::kMxfp4;
    g.bits = 4;
    g.group_size = 32;
    s.groups.push_back(g);
    s.ignore = glob_list(qc->value("modules_to_not_convert", json::array()));
    s.ignore_key = "modules_to_not_convert";
  } else if (read_gptq_awq_scheme(*qc, method, s)) {
    // gptq_awq_scheme.cpp
  } else {
    s.method = QuantMethod::kUnknown;
    if (s.method_name.empty()) s.method_name = "(no quant_method)";
  }
  s.index_patterns();
  for (const NamePattern& p : s.ignore) {
    if (!p.valid()) {
      s.problems.push_back(
          fmt::format("{} entry \"{}\" is not a valid pattern", s.ignore_key, p.text));
    }
  }
  return s;
}

}  // namespace ckd

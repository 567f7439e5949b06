// The GPTQ and AWQ declarations (config.json quantization_config):
// - GPTQ: transformers utils/quantization_config.py GPTQConfig and GPTQModel
//   quantization/config.py QuantizeConfig: bits, group_size (-1: one group over the whole
//   input), desc_act, sym, checkpoint_format / format ("gptq" stores zero - 1, "gptq_v2" the
//   zero), pack_dtype (int32 only is modelled), dynamic ({"-:regex": {}} skips modules, "+:regex" /
//   "regex" overrides bits and group_size; GPTQModel matches with re.match).
// - AWQ: transformers AwqConfig / AutoAWQ: bits (or w_bit), group_size (or q_group_size),
//   zero_point, version gemm | gemv, modules_to_not_convert.
// - auto-round (auto_round/export): packing_format auto_gptq / auto_awq writes those layouts.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "checkpoint/scheme_readers.h"

namespace ckd {

using nlohmann::json;

namespace {

std::string text_of(const json& qc, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    if (qc.contains(key) && qc[key].is_string()) return qc[key].get<std::string>();
  }
  return "";
}

// The first present key as an integer; nullopt when absent, not an integer or out of int range.
std::optional<int64_t> int_of(const json& qc, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    if (!qc.contains(key)) continue;
    const json& v = qc[key];
    if (v.is_number_integer()) return v.get<int64_t>();
    return std::nullopt;
  }
  return std::nullopt;
}

bool bool_of(const json& qc, const char* key, bool fallback) {
  if (qc.contains(key) && qc[key].is_boolean()) return qc[key].get<bool>();
  return fallback;
}

// Sets bits and group size from `j` (defaults from `g`); a value the format cannot hold is a
// declaration problem and leaves the group unmodelled.
void read_bits_and_group(const json& j, QuantGroup& g, std::initializer_list<int> allowed_bits,
                         QuantScheme& s) {
  if (auto bits = int_of(j, {"bits", "w_bit"})) {
    bool ok = false;
    for (int b : allowed_bits) ok = ok || *bits == b;
    if (!ok) {
      s.problems.push_back(
          fmt::format("{} declares bits {}, which its packing does not hold; "
                      "its modules are not checked",
                      s.method_name, *bits));
      g.format = WeightFormat::kUnknown;
      return;
    }
    g.bits = static_cast<int>(*bits);
  }
  if (auto group = int_of(j, {"group_size", "q_group_size"})) {
    if (*group == -1) {
      g.group_size = 0;  // one group spans the whole input dimension
    } else if (*group > 0 && *group <= (int64_t{1} << 32)) {
      g.group_size = static_cast<uint64_t>(*group);
    } else {
      s.problems.push_back(fmt::format("{} declares group_size {}; its modules are not checked",
                                       s.method_name, *group));
      g.format = WeightFormat::kUnknown;
    }
  }
}

void read_gptq(const json& qc, QuantScheme& s) {
  s.method = QuantMethod::kGptq;
  QuantGroup g;
  g.name = "gptq";
  g.format = WeightFormat::kGptq;
  g.bits = 4;
  g.group_size = 128;
  g.symmetric = bool_of(qc, "sym", true);
  g.act_order = bool_of(qc, "desc_act", false);
  std::string checkpoint_format = text_of(qc, {"checkpoint_format", "format"});
  if (checkpoint_format.empty() || checkpoint_format == "gptq") {
    g.zero_offset = 1;
  } else if (checkpoint_format == "gptq_v2") {
    g.zero_offset = 0;
  } else {
    // marlin, bitblas, ...: repacked layouts, not the qweight/qzeros described here.
    s.problems.push_back(
        fmt::format("gptq checkpoint_format \"{}\" is not modelled; its modules "
                    "are not checked",
                    checkpoint_format));
    g.format = WeightFormat::kUnknown;
  }
  // GPTQModel pack_dtype int8 / int16 / int64 packs into other words than the int32 modelled.
  std::string pack_dtype = text_of(qc, {"pack_dtype"});
  if (!pack_dtype.empty() && pack_dtype != "int32" && pack_dtype != "torch.int32") {
    s.problems.push_back(fmt::format(
        "gptq pack_dtype \"{}\" is not modelled (int32 is); its modules are not checked",
        pack_dtype));
    g.format = WeightFormat::kUnknown;
  }
  read_bits_and_group(qc, g, {2, 3, 4, 8}, s);
  // GPTQModel "dynamic": per-module overrides first (group_for takes the first match), then
  // the default group; "-:" entries are modules left unquantized.
  if (qc.contains("dynamic") && qc["dynamic"].is_object()) {
    for (const auto& [key, value] : qc["dynamic"].items()) {
      if (key.starts_with("-:")) {
        s.ignore.push_back(NamePattern::compressed_tensors("re:" + key.substr(2)));
        continue;
      }
      std::string pattern = key.starts_with("+:") ? key.substr(2) : key;
      QuantGroup override_group = g;
      override_group.name = key;
      override_group.targets = {NamePattern::compressed_tensors("re:" + pattern)};
      if (value.is_object()) {
        read_bits_and_group(value, override_group, {2, 3, 4, 8}, s);
        override_group.act_order = bool_of(value, "desc_act", g.act_order);
        override_group.symmetric = bool_of(value, "sym", g.symmetric);
      }
      s.groups.push_back(std::move(override_group));
    }
    s.ignore_key = "dynamic";
  }
  s.groups.push_back(std::move(g));
}

void read_awq(const json& qc, QuantScheme& s) {
  s.method = QuantMethod::kAwq;
  QuantGroup g;
  g.name = "awq";
  g.bits = 4;
  g.group_size = 128;
  g.symmetric = !bool_of(qc, "zero_point", true);
  std::string version = text_of(qc, {"version"});
  for (char& c : version) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (version.empty() || version == "gemm") {
    g.format = WeightFormat::kAwqGemm;
  } else if (version == "gemv") {
    g.format = WeightFormat::kAwqGemv;
  } else {
    // gemv_fast, exllama, ipex, marlin: other packings.
    s.problems.push_back(
        fmt::format("awq version \"{}\" is not modelled; its modules are not checked", version));
    g.format = WeightFormat::kUnknown;
  }
  read_bits_and_group(qc, g, {4}, s);
  s.groups.push_back(std::move(g));
}

void read_ignore_list(const json& qc, QuantScheme& s) {
  if (!qc.contains("modules_to_not_convert") || !qc["modules_to_not_convert"].is_array()) return;
  for (const json& e : qc["modules_to_not_convert"]) {
    if (e.is_string()) s.ignore.push_back(NamePattern::glob(e.get<std::string>()));
  }
  s.ignore_key = "modules_to_not_convert";
}

}  // namespace

bool read_gptq_awq_scheme(const json& qc, const std::string& method, QuantScheme& s) {
  std::string packing = text_of(qc, {"packing_format"});
  bool auto_round = method == "auto-round" || method == "intel/auto-round";
  if (method == "gptq" || (auto_round && packing.find("auto_gptq") != std::string::npos)) {
    read_gptq(qc, s);
  } else if (method == "awq" || (auto_round && packing.find("auto_awq") != std::string::npos)) {
    read_awq(qc, s);
  } else {
    return false;
  }
  read_ignore_list(qc, s);
  return true;
}

QuantScheme parse_standalone_quant_config(const json& qc, const std::string& file) {
  QuantScheme s;
  s.source_file = file;
  s.method_name = text_of(qc, {"quant_method"});
  if (s.method_name.empty()) s.method_name = file == "quant_config.json" ? "awq" : "gptq";
  std::string method = s.method_name;
  for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!read_gptq_awq_scheme(qc, method, s)) s.method = QuantMethod::kUnknown;
  s.index_patterns();
  return s;
}

}  // namespace ckd

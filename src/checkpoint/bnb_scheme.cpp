// The bitsandbytes declaration (config.json quantization_config, quant_method "bitsandbytes"):
// transformers utils/quantization_config.py BitsAndBytesConfig.to_dict writes load_in_4bit /
// load_in_8bit (also as _load_in_4bit / _load_in_8bit), bnb_4bit_quant_type nf4 | fp4,
// bnb_4bit_use_double_quant, bnb_4bit_compute_dtype, bnb_4bit_quant_storage and
// llm_int8_skip_modules. The block size is not in the config: each weight's quant_state tensor
// holds it (bitsandbytes functional.py QuantState.as_dict; Params4bit defaults to 64).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "checkpoint/scheme_readers.h"

namespace ckd {

using nlohmann::json;

namespace {

bool flag(const json& qc, const char* key, const char* legacy_key) {
  for (const char* k : {key, legacy_key}) {
    if (qc.contains(k) && qc[k].is_boolean()) return qc[k].get<bool>();
  }
  return false;
}

std::string text(const json& qc, const char* key, const char* fallback) {
  if (qc.contains(key) && qc[key].is_string()) return qc[key].get<std::string>();
  return fallback;
}

}  // namespace

void read_bnb_scheme(const json& qc, QuantScheme& s) {
  s.method = QuantMethod::kBitsandbytes;
  QuantGroup g;
  g.name = "bitsandbytes";
  bool four = flag(qc, "load_in_4bit", "_load_in_4bit");
  bool eight = flag(qc, "load_in_8bit", "_load_in_8bit");
  if (four == eight) {
    s.problems.push_back(four ? "bitsandbytes declares both load_in_4bit and load_in_8bit; its "
                                "modules are not checked"
                              : "bitsandbytes declares neither load_in_4bit nor load_in_8bit; its "
                                "modules are not checked");
    g.format = WeightFormat::kUnknown;
  } else if (eight) {
    g.format = WeightFormat::kBnbInt8;
    g.bits = 8;
  } else {
    g.bits = 4;
    g.group_size = 64;  // Params4bit's default blocksize; each quant_state says its own
    g.double_quant = flag(qc, "bnb_4bit_use_double_quant", "bnb_4bit_use_double_quant");
    std::string type = text(qc, "bnb_4bit_quant_type", "fp4");  // BitsAndBytesConfig default
    std::string storage = text(qc, "bnb_4bit_quant_storage", "uint8");
    if (type == "nf4") {
      g.format = WeightFormat::kBnbNf4;
    } else if (type == "fp4") {
      g.format = WeightFormat::kBnbFp4;
    } else {
      s.problems.push_back(fmt::format(
          "bitsandbytes bnb_4bit_quant_type \"{}\" is neither nf4 nor fp4; its modules are not "
          "checked",
          type));
      g.format = WeightFormat::kUnknown;
    }
    // Another storage dtype views the same bytes as bf16/f32 words ([n/4, 1] ...): not modelled.
    if (storage != "uint8" && g.format != WeightFormat::kUnknown) {
      s.problems.push_back(fmt::format(
          "bitsandbytes bnb_4bit_quant_storage \"{}\" is not modelled (uint8 is); its modules are "
          "not checked",
          storage));
      g.format = WeightFormat::kUnknown;
    }
  }
  s.groups.push_back(std::move(g));
  // transformers (integrations/bitsandbytes.py) leaves a module in high precision when an entry
  // names it or a parent of it: a glob per entry covers both.
  if (qc.contains("llm_int8_skip_modules") && qc["llm_int8_skip_modules"].is_array()) {
    for (const json& e : qc["llm_int8_skip_modules"]) {
      if (!e.is_string() || e.get<std::string>().empty()) continue;
      s.ignore.push_back(NamePattern::glob(e.get<std::string>()));
    }
    s.ignore_key = "llm_int8_skip_modules";
  }
}

}  // namespace ckd

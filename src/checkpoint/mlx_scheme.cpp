// The MLX declaration: mlx-lm (mlx_lm/utils.py quantize_model, save_config) writes
// {"quantization": {"group_size": 64, "bits": 4, "mode": "affine", "<module path>": {...} |
// false}} at the top of config.json and copies it as "quantization_config" with no quant_method.
// Loading (mlx_lm/utils.py load_model's class_predicate) looks each module path up in that
// dict first: a dict gives its own group_size / bits, false leaves the module unquantized; any
// other module is quantized when the weights hold its ".scales" (older conversions did not
// quantize everything), so a module stored without scales is simply not quantized.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "checkpoint/scheme_readers.h"

namespace ckd {

using nlohmann::json;

namespace {

// MLX affine quantization (mlx/ops.cpp quantize): 2, 3, 4, 5, 6 and 8 bits; group sizes 32, 64,
// 128.
bool read_bits_and_group(const json& q, QuantGroup& g, QuantScheme& s, const std::string& where) {
  for (const char* key : {"bits", "group_size"}) {
    if (!q.contains(key)) continue;
    const json& v = q[key];
    int64_t value = v.is_number_integer() ? v.get<int64_t>() : -1;
    bool ok = std::string_view(key) == "bits" ? (value >= 2 && value <= 8 && value != 7)
                                              : (value == 32 || value == 64 || value == 128);
    if (!ok) {
      s.problems.push_back(
          fmt::format("MLX quantization{} declares {} {}; its modules are not "
                      "checked",
                      where, key, v.dump()));
      g.format = WeightFormat::kUnknown;
      return false;
    }
    if (std::string_view(key) == "bits") {
      g.bits = static_cast<int>(value);
    } else {
      g.group_size = static_cast<uint64_t>(value);
    }
  }
  return true;
}

}  // namespace

bool read_mlx_scheme(const json& config, QuantScheme& s) {
  const json* q = nullptr;
  if (config.contains("quantization") && config["quantization"].is_object()) {
    q = &config["quantization"];
  } else if (config.contains("quantization_config") && config["quantization_config"].is_object()) {
    const json& qc = config["quantization_config"];
    if (!qc.contains("quant_method") && qc.contains("bits") && qc.contains("group_size")) q = &qc;
  }
  if (!q) return false;
  // A Hugging Face quant_method next to it (a re-export) is what transformers and vLLM read.
  if (config.contains("quantization_config") && config["quantization_config"].is_object() &&
      config["quantization_config"].contains("quant_method")) {
    return false;
  }
  s.method = QuantMethod::kMlx;
  s.method_name = "mlx";
  QuantGroup base;
  base.name = "mlx";
  base.format = WeightFormat::kMlxAffine;
  base.bits = 4;
  base.group_size = 64;  // mlx-lm convert's defaults
  base.symmetric = false;
  read_bits_and_group(*q, base, s, "");
  if (q->contains("mode") && (*q)["mode"] != "affine") {
    // mxfp4 / nvfp4 / mxfp8 modes store U8 scales and no biases: not modelled here.
    s.problems.push_back(
        fmt::format("MLX quantization mode {} is not modelled (affine is); its "
                    "modules are not checked",
                    (*q)["mode"].dump()));
    base.format = WeightFormat::kUnknown;
  }
  for (const auto& [key, value] : q->items()) {
    if (key == "bits" || key == "group_size" || key == "mode") continue;
    NamePattern exact;
    exact.text = key;
    exact.kind = NamePattern::Kind::kExact;
    if (value.is_boolean() && !value.get<bool>()) {
      s.ignore.push_back(std::move(exact));
      continue;
    }
    if (!value.is_object()) continue;
    QuantGroup over = base;
    over.name = key;
    over.targets = {std::move(exact)};
    read_bits_and_group(value, over, s, fmt::format(" entry \"{}\"", key));
    s.groups.push_back(std::move(over));
  }
  s.ignore_key = "quantization";
  s.groups.push_back(std::move(base));  // after the overrides: group_for takes the first match
  return true;
}

}  // namespace ckd

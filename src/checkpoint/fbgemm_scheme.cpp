// The fbgemm_fp8 declaration (Meta's Llama-3.1-405B-FP8): transformers
// utils/quantization_config.py FbgemmFp8Config (activation_scale_ub, modules_to_not_convert) and
// vLLM model_executor/layers/quantization/fbgemm_fp8.py FBGEMMFp8Config.from_config, which
// requires both keys. Every linear outside modules_to_not_convert stores an F8_E4M3 weight
// [out, in] with an F32 weight_scale [out, 1] (FBGEMMFp8LinearMethod.create_weights,
// transformers integrations/fbgemm_fp8.py FbgemmFp8Linear): the FP8 per-channel format.
// Activations are quantized per token at run time, bounded by activation_scale_ub (a config
// number, not a stored tensor).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "checkpoint/scheme_readers.h"

namespace ckd {

using nlohmann::json;

void read_fbgemm_fp8_scheme(const json& qc, QuantScheme& s) {
  s.method = QuantMethod::kFbgemmFp8;
  QuantGroup g;
  g.name = "fbgemm_fp8";
  g.format = WeightFormat::kFp8Channel;
  g.bits = 8;
  g.input = InputActivations::kDynamic;
  // vLLM reads the bound with get_from_keys (a missing key is a ValueError at load) and passes
  // it to the per-token activation quantizer as an upper bound on the scale.
  const json* ub = qc.contains("activation_scale_ub") ? &qc["activation_scale_ub"] : nullptr;
  if (!ub || !ub->is_number() || !(ub->get<double>() > 0)) {
    std::string shown = ub ? ub->dump(-1, ' ', false, json::error_handler_t::replace) : "missing";
    if (shown.size() > 64) shown = shown.substr(0, 61) + "...";
    s.invalid.push_back(fmt::format(
        "activation_scale_ub is {}, not a positive number (vLLM FBGEMMFp8Config.from_config "
        "requires it: the checkpoint does not load)",
        shown));
    ++s.invalid_count;
  }
  if (!qc.contains("modules_to_not_convert")) {
    s.invalid.push_back(
        "modules_to_not_convert is missing, not a list (vLLM FBGEMMFp8Config.from_config "
        "requires the key: the checkpoint does not load)");
    ++s.invalid_count;
  }
  s.groups.push_back(std::move(g));
  if (qc.contains("modules_to_not_convert") && qc["modules_to_not_convert"].is_array()) {
    for (const auto& e : qc["modules_to_not_convert"]) {
      if (e.is_string()) s.ignore.push_back(NamePattern::glob(e.get<std::string>()));
    }
  }
  s.ignore_key = "modules_to_not_convert";
}

}  // namespace ckd

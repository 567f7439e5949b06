// Declaration readers for quant methods that live in their own files (one per format family),
// called by parse_quant_scheme. Internal to src/checkpoint.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "checkpoint/quant_scheme.h"

namespace ckd {

// quant_method gptq / awq, and auto-round with packing_format auto_gptq / auto_awq. Returns
// false (leaving `s` alone) when `method` is none of them.
bool read_gptq_awq_scheme(const nlohmann::json& qc, const std::string& method, QuantScheme& s);

// A quantizer's own file, for repositories whose config.json declares nothing:
// quantize_config.json (quant_method gptq when absent, as AutoGPTQ wrote it; awq or auto-round
// when it says so) or AutoAWQ's quant_config.json (awq when absent).
QuantScheme parse_standalone_quant_config(const nlohmann::json& qc, const std::string& file);
// quant_method fbgemm_fp8 (fbgemm_scheme.cpp).
void read_fbgemm_fp8_scheme(const nlohmann::json& qc, QuantScheme& s);

// quant_method quark (quark_scheme.cpp).
void read_quark_scheme(const nlohmann::json& qc, QuantScheme& s);
// quant_method bitsandbytes (bnb_scheme.cpp).
void read_bnb_scheme(const nlohmann::json& qc, QuantScheme& s);

// MLX: config.json's top-level "quantization" (mlx_scheme.cpp). Returns false when `config`
// declares none.
bool read_mlx_scheme(const nlohmann::json& config, QuantScheme& s);

}  // namespace ckd

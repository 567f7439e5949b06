#include "rules/registry.h"

#include <array>
#include <stdexcept>
#include <string>

#include "rules/check.h"

namespace ckd {

std::unique_ptr<Check> make_shard_issues_check();
std::unique_ptr<Check> make_duplicate_names_check();
std::unique_ptr<Check> make_load_problems_check();
std::unique_ptr<Check> make_index_tensor_mismatch_check();
std::unique_ptr<Check> make_index_total_size_check();
std::unique_ptr<Check> make_shard_set_check();
std::unique_ptr<Check> make_false_quantization_check();
std::unique_ptr<Check> make_quantized_ignored_module_check();
std::unique_ptr<Check> make_missing_weight_scale_check();
std::unique_ptr<Check> make_missing_input_scale_check();
std::unique_ptr<Check> make_unknown_quant_method_check();
std::unique_ptr<Check> make_unmatched_ignore_pattern_check();
std::unique_ptr<Check> make_incomplete_experts_check();
std::unique_ptr<Check> make_repeated_prefix_check();
std::unique_ptr<Check> make_key_prefix_mismatch_check();
std::unique_ptr<Check> make_source_module_diff_check();
std::unique_ptr<Check> make_lm_head_tying_check();
std::unique_ptr<Check> make_missing_mtp_layers_check();
std::unique_ptr<Check> make_scale_shape_mismatch_check();
std::unique_ptr<Check> make_scale_values_check();
std::unique_ptr<Check> make_scale_out_of_range_check();
std::unique_ptr<Check> make_fused_scale_mismatch_check();
std::unique_ptr<Check> make_unexpected_scale_dtype_check();
std::unique_ptr<Check> make_weight_values_check();
std::unique_ptr<Check> make_interrupted_fix_check();
std::unique_ptr<Check> make_no_weights_check();
std::unique_ptr<Check> make_unknown_architecture_check();
std::unique_ptr<Check> make_missing_tensor_check();
std::unique_ptr<Check> make_shape_mismatch_check();
std::unique_ptr<Check> make_key_layout_mismatch_check();
std::unique_ptr<Check> make_unexpected_tensor_check();
std::unique_ptr<Check> make_tensor_parallel_divisibility_check();
std::unique_ptr<Check> make_zero_point_convention_check();
std::unique_ptr<Check> make_gptq_v1_zero_underflow_check();
std::unique_ptr<Check> make_invalid_group_index_check();
std::unique_ptr<Check> make_invalid_sparsity_mask_check();
std::unique_ptr<Check> make_quantization_status_mismatch_check();
std::unique_ptr<Check> make_scale_format_mismatch_check();
std::unique_ptr<Check> make_missing_kv_cache_scale_check();
std::unique_ptr<Check> make_missing_quant_state_check();

namespace {

struct CheckKind {
  std::string_view name;
  std::unique_ptr<Check> (*make)();
};

constexpr std::array<CheckKind, 40> kChecks = {{
    {"shard-issues", make_shard_issues_check},
    {"duplicate-names", make_duplicate_names_check},
    {"load-problems", make_load_problems_check},
    {"index-tensor-mismatch", make_index_tensor_mismatch_check},
    {"index-total-size", make_index_total_size_check},
    {"shard-set", make_shard_set_check},
    {"false-quantization", make_false_quantization_check},
    {"quantized-ignored-module", make_quantized_ignored_module_check},
    {"missing-weight-scale", make_missing_weight_scale_check},
    {"missing-input-scale", make_missing_input_scale_check},
    {"unknown-quant-method", make_unknown_quant_method_check},
    {"unmatched-ignore-pattern", make_unmatched_ignore_pattern_check},
    {"incomplete-experts", make_incomplete_experts_check},
    {"repeated-prefix", make_repeated_prefix_check},
    {"key-prefix-mismatch", make_key_prefix_mismatch_check},
    {"source-module-diff", make_source_module_diff_check},
    {"lm-head-tying", make_lm_head_tying_check},
    {"missing-mtp-layers", make_missing_mtp_layers_check},
    {"scale-shape-mismatch", make_scale_shape_mismatch_check},
    {"scale-values", make_scale_values_check},
    {"scale-out-of-range", make_scale_out_of_range_check},
    {"fused-scale-mismatch", make_fused_scale_mismatch_check},
    {"unexpected-scale-dtype", make_unexpected_scale_dtype_check},
    {"weight-values", make_weight_values_check},
    {"interrupted-fix", make_interrupted_fix_check},
    {"no-weights", make_no_weights_check},
    {"unknown-architecture", make_unknown_architecture_check},
    {"missing-tensor", make_missing_tensor_check},
    {"shape-mismatch", make_shape_mismatch_check},
    {"key-layout-mismatch", make_key_layout_mismatch_check},
    {"unexpected-tensor", make_unexpected_tensor_check},
    {"tensor-parallel-divisibility", make_tensor_parallel_divisibility_check},
    {"zero-point-convention", make_zero_point_convention_check},
    {"gptq-v1-zero-underflow", make_gptq_v1_zero_underflow_check},
    {"invalid-group-index", make_invalid_group_index_check},
    {"invalid-sparsity-mask", make_invalid_sparsity_mask_check},
    {"quantization-status-mismatch", make_quantization_status_mismatch_check},
    {"scale-format-mismatch", make_scale_format_mismatch_check},
    {"missing-kv-cache-scale", make_missing_kv_cache_scale_check},
    {"missing-quant-state", make_missing_quant_state_check},
}};

}  // namespace

bool check_kind_exists(std::string_view kind) {
  for (const auto& c : kChecks) {
    if (c.name == kind) return true;
  }
  return false;
}

std::unique_ptr<Check> make_check(std::string_view kind) {
  for (const auto& c : kChecks) {
    if (c.name == kind) return c.make();
  }
  throw std::runtime_error("unknown check kind " + std::string(kind));
}

}  // namespace ckd

#include "rules/check.h"

#include <cstdlib>

#include "checkpoint/architecture.h"
#include "rules/bench_toggle.h"

namespace ckd {

bool architecture_model_disabled_for_bench() {
  static const bool disabled = std::getenv("CKPTDOCTOR_BENCH_NO_ARCHITECTURE") != nullptr;
  return disabled;
}

void ScanState::prefill_scale_stats() {
  std::vector<const TensorRef*> scale_refs, fetched;
  for (const Module& m : checkpoint.modules().modules()) {
    for (const ModuleParam& p : m.params) {
      if (is_scale_role(p.role)) scale_refs.push_back(p.ref);
      // Zero points and group indices are read by the scales tier too (zero-point-convention,
      // invalid-group-index); they are as small as the scales.
      if (is_scale_role(p.role) || p.role == TensorRole::kZeroPoint || p.role == TensorRole::kGIdx)
        fetched.push_back(p.ref);
    }
  }
  // One batch of range requests per remote shard instead of a round trip per scale.
  prefetch_tensor_bytes(fetched, options.threads);
  scales.prefill(scale_refs);
}

const ArchitectureDiff& ScanState::architecture_diff() {
  std::call_once(architecture_once, [this] {
    if (architecture_model_disabled_for_bench()) {
      architecture = std::make_shared<const ArchitectureDiff>();  // not modeled
      return;
    }
    architecture = std::make_shared<const ArchitectureDiff>(
        architecture_model ? diff_against_architecture(checkpoint, std::move(architecture_model))
                           : diff_against_architecture(checkpoint));
  });
  return *architecture;
}

void CheckContext::emit(std::string file, std::string tensor, std::string message) const {
  if (!rule_.selects_tensor(tensor)) return;
  std::lock_guard lock(state_.findings_mutex);
  state_.findings.push_back(Finding{rule_.code, rule_.name, rule_.severity, std::move(file),
                                    std::move(tensor), std::move(message)});
}

void CheckContext::emit_omitted(std::string file, uint64_t count, std::string message) const {
  if (count == 0) return;
  std::lock_guard lock(state_.findings_mutex);
  state_.findings.push_back(Finding{rule_.code, rule_.name, rule_.severity, std::move(file), "",
                                    std::move(message), count});
}

void CheckContext::emit(const TensorRef& ref, std::string message) const {
  emit(ref.shard->display_name(), std::string(ref.info->name), std::move(message));
}

double CheckContext::param(const char* key, double fallback) const {
  if (rule_.params.contains(key) && rule_.params[key].is_number())
    return rule_.params[key].get<double>();
  return fallback;
}

std::string CheckContext::param(const char* key, const std::string& fallback) const {
  if (rule_.params.contains(key) && rule_.params[key].is_string())
    return rule_.params[key].get<std::string>();
  return fallback;
}

}  // namespace ckd

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
  ckd::prefill_scale_stats(checkpoint.shards(), *scales, options.threads);
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

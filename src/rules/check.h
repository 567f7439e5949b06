// The interface every check implements, and the context it runs in.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "checkpoint/key_map.h"
#include "rules/data_stats.h"
#include "rules/finding.h"
#include "rules/rule_set.h"
#include "rules/scale_values.h"

namespace ckd {

struct ArchitectureDiff;  // checkpoint/architecture.h
class ArchitectureModel;

struct ScanOptions {
  bool deep = false;
  int threads = 0;
  bool progress = false;  // progress lines on stderr (--deep data, remote headers)
};

// Shared by every check of one scan: the checkpoints, the options, decoded scale statistics.
struct ScanState {
  ScanState(const Checkpoint& ck, const Checkpoint* src, ScanOptions opts)
      : checkpoint(ck), source(src), options(opts) {}

  const Checkpoint& checkpoint;
  const Checkpoint* source = nullptr;  // --source, headers only
  ScanOptions options;
  // Every scale tensor's statistics: decoded while the checkpoint opened (OpenedWork), or by
  // prefill_scale_stats() in the header tier.
  std::shared_ptr<ScaleValueCache> scales = std::make_shared<ScaleValueCache>();
  std::vector<Finding> findings;
  std::mutex findings_mutex;
  std::once_flag data_once;
  DataScanSummary data;
  std::once_flag source_once;
  SourceDiff source_keys;
  std::once_flag architecture_once;
  std::shared_ptr<const ArchitectureDiff> architecture;
  // The checkpoint's architecture model, when the scan built it while the checkpoint opened
  // (model_architecture): architecture_diff() spends it.
  std::shared_ptr<ArchitectureModel> architecture_model;

  // The key diff against --source, computed once for all the rules that need it.
  const SourceDiff& source_diff() {
    std::call_once(source_once, [this] { source_keys = diff_against_source(checkpoint, *source); });
    return source_keys;
  }

  // The checkpoint against the tensors its config's model class defines, computed once for the
  // architecture rules and the heuristic key rules that defer to it.
  const ArchitectureDiff& architecture_diff();

  // Decodes every scale tensor's statistics, before the scale rules run (one job of the
  // header tier's pool, when the scan did not decode them while the checkpoint opened).
  void prefill_scale_stats();

  // The --deep data pass, run once on first use.
  const DataScanSummary& data_stats() {
    std::call_once(data_once, [this] {
      data = scan_tensor_data(checkpoint, options.threads, options.progress);
    });
    return data;
  }
};

class CheckContext {
 public:
  CheckContext(ScanState& state, const Rule& rule) : state_(state), rule_(rule) {}

  const Checkpoint& checkpoint() const { return state_.checkpoint; }
  const Checkpoint* source() const { return state_.source; }
  const ScanOptions& options() const { return state_.options; }
  const Rule& rule() const { return rule_; }
  const ScaleStats& scale_stats(const TensorRef& ref) const { return state_.scales->stats(ref); }
  const DataScanSummary& data_stats() const { return state_.data_stats(); }
  // Only with a source (check source() first).
  const SourceDiff& source_diff() const { return state_.source_diff(); }
  const ArchitectureDiff& architecture_diff() const { return state_.architecture_diff(); }

  // Records a finding for this rule unless the rule's tensor selectors exclude it.
  void emit(std::string file, std::string tensor, std::string message) const;
  void emit(const TensorRef& ref, std::string message) const;
  // Records that `count` further findings of this rule were found but not listed (Finding::omitted).
  void emit_omitted(std::string file, uint64_t count, std::string message) const;

  double param(const char* key, double fallback) const;
  std::string param(const char* key, const std::string& fallback) const;
  const nlohmann::json& params() const { return rule_.params; }

 private:
  ScanState& state_;
  const Rule& rule_;
};

class Check {
 public:
  virtual ~Check() = default;
  virtual void run(const CheckContext& ctx) const = 0;
  // Checks that compare against --source say so: without it they do not run (and are not
  // reported as passing).
  virtual bool needs_source() const { return false; }
};

}  // namespace ckd

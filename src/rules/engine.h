// Runs the selected rules over a checkpoint, tier by tier: headers, then scale bytes, then (with
// --deep) all tensor data.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rules/check.h"

namespace ckd {

// "a,b" entries split at commas (empty items dropped), as --select, --ignore and --engine
// take them on the command line and in the Python API.
std::vector<std::string> split_commas(const std::vector<std::string>& values);

// Resolves --select / --ignore entries (rule names, codes, code prefixes such as CKD5 or
// CKD50, family names, or ALL) into the rules to run. Throws std::runtime_error for an entry
// that matches nothing, with a suggestion.
std::vector<const Rule*> select_rules(const RuleSet& rules, const std::vector<std::string>& select,
                                      const std::vector<std::string>& ignore);

// Whether one --select/--ignore entry (name, code, code prefix, family, ALL) names `rule`;
// `ckptdoctor rules FAMILY` lists a family with it.
bool selector_matches(const Rule& rule, const std::string& entry);

// Why `rule` does not run in a scan with these options (a --deep rule without --deep, a --source
// rule without --source), or empty when it runs. A rule that did not run is not a pass.
std::string reason_not_run(const Rule& rule, const ScanOptions& options, bool has_source);

// Whether `rules` include the architecture family's (header tier): a scan of them diffs the
// checkpoint against its architecture model.
bool reads_architecture(const std::vector<const Rule*>& rules);

// Findings sorted by severity (errors first), then code, file and tensor. With `architecture`,
// also hands back the scan's architecture diff (computed once, here if no rule needed it).
// `side_jobs` (named, for the trace and for errors) need no findings: they run beside the
// header rules, sharing their cores. `architecture_model`: the checkpoint's, when the caller
// built it already (model_architecture); the diff spends it.
struct SideJob {
  const char* name;
  std::function<void()> run;
};
// What a scan computed while its checkpoint opened, for the rules.
struct OpenedWork {
  // model_architecture's model of the checkpoint; the architecture diff spends it.
  std::shared_ptr<ArchitectureModel> architecture_model;
  // Every scale tensor's statistics (prefill_scale_stats), decoded beside the checkpoint's
  // open and perhaps not finished yet; null: the header tier decodes them.
  std::shared_ptr<ScaleValueCache> scales;
  // Waits for that decode and rethrows what it threw: the scale rules call it (once) before
  // they read `scales`, so the header rules need not wait for it.
  std::function<void()> finish_scales;
};
std::vector<Finding> run_rules(const std::vector<const Rule*>& rules, const Checkpoint& checkpoint,
                               const Checkpoint* source, const ScanOptions& options,
                               std::shared_ptr<const ArchitectureDiff>* architecture = nullptr,
                               const std::vector<SideJob>& side_jobs = {},
                               OpenedWork opened = {});

// The closest known name to `word` (for "did you mean"), or empty.
std::string closest_name(const std::string& word, const std::vector<std::string>& names);

}  // namespace ckd

// A fix edits the FixPlan: renames, drops or adds tensors, marks headers for rewriting or the
// index for regeneration. One fix per file under src/fix/fixes/; each names the scan rules it
// repairs, so --apply-safe can enable every safe fix whose rule fired, and a test can hold
// the rules' "fix" metadata to the fixes that exist.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fix/plan.h"
#include "rules/finding.h"

namespace ckd {

struct FixOptions {
  std::vector<std::string> strip_prefixes;                   // "auto" derives it
  std::vector<std::pair<std::string, std::string>> renames;  // re2 pattern, rewrite
  std::optional<float> inject_input_scale;
  bool drop_tied_lm_head = false;
  bool normalize_headers = false;
  bool regenerate_index = false;
  bool apply_safe = false;
};

struct FixContext {
  const Checkpoint& checkpoint;
  const Checkpoint* source;  // --source, headers only
  const FixOptions& options;
  FixPlan& plan;
};

class Fix {
 public:
  virtual ~Fix() = default;
  virtual const char* name() const = 0;
  // The scan rules whose findings this fix repairs.
  virtual std::vector<std::string> repairs() const = 0;
  // Unsafe fixes invent values; --apply-safe never enables them.
  virtual bool unsafe() const { return false; }
  virtual bool requested(const FixOptions& options) const = 0;
  // What --apply-safe sets when one of the repaired rules fired.
  virtual void enable(FixOptions& options) const = 0;
  // Edits the plan; throws FixError when the fix cannot be applied without loss.
  virtual void apply(FixContext& ctx) const = 0;
};

// Every fix, in the order they apply: renames, then drops and additions, then headers and index.
const std::vector<std::unique_ptr<Fix>>& builtin_fixes();

// The options with every safe fix enabled whose repaired rule has a finding.
FixOptions options_for_findings(const FixOptions& options, const std::vector<Finding>& findings);

// Builds the plan: initial_plan, each requested fix, finish_plan.
FixPlan plan_fixes(const Checkpoint& ck, const Checkpoint* source, const FixOptions& options);

}  // namespace ckd

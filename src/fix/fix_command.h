// `ckptdoctor fix`: with --in-place, lock DIR (src/fix/dir_lock.h) and recover a killed run
// (finishing one ends the run); open the checkpoint, plan the requested fixes (with
// --apply-safe, every safe fix whose rule fires), and write the result.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fix/fix.h"
#include "fix/writer.h"

namespace ckd {

struct Rule;

struct FixRequest {
  std::string dir;
  std::string out_dir;  // empty with --in-place or --dry-run
  std::string source_dir;
  FixOptions options;
  bool in_place = false;
  bool dry_run = false;
  bool force = false;
  int threads = 0;
  bool progress = false;  // a progress line on stderr while files are written
  // --apply-safe: the rules whose findings propose fixes, as the command's settings selected
  // them (cli/rule_settings.h: ckptdoctor.json, --rules, --select/--ignore); a selection can be
  // empty (nothing to fix). Unset: every built-in rule.
  std::optional<std::vector<const Rule*>> rules;
};

struct FixOutcome {
  std::unique_ptr<Checkpoint> checkpoint;  // the plan points into it
  std::unique_ptr<Checkpoint> source;
  FixPlan plan;
  std::vector<std::string> notes;     // what recovery did
  // The run finished a killed --in-place fix and stopped there (nothing else was applied).
  bool finished_interrupted = false;
  std::optional<WriteStats> written;  // empty for --dry-run and for nothing to do in place
  double seconds = 0;
};

// Throws FixError (refused, nothing written) or IoError (could not read or write).
FixOutcome run_fix(const FixRequest& request);

}  // namespace ckd

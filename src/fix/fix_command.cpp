#include "fix/fix_command.h"

#include <chrono>

#include <fmt/format.h>

#include "remote/remote_store.h"
#include "rules/engine.h"
#include "rules/rule_set.h"

namespace ckd {

FixOutcome run_fix(const FixRequest& request) {
  auto start = std::chrono::steady_clock::now();
  FixOutcome outcome;
  if (is_remote_location(request.dir)) {
    throw FixError(
        fmt::format("{}: fix rewrites local files; download the checkpoint (`hf "
                    "download`) and fix the directory",
                    request.dir));
  }
  if (request.in_place && !request.dry_run) {
    std::string note = recover_in_place(request.dir);
    if (!note.empty()) outcome.notes.push_back(note);
  } else if (has_committed_staging(request.dir)) {
    throw FixError(
        fmt::format("{} is in the middle of an --in-place fix; run `ckptdoctor fix {} "
                    "--in-place` to finish it first",
                    request.dir, request.dir));
  }
  OpenOptions open_options{request.threads};
  outcome.checkpoint = Checkpoint::open(request.dir, open_options);
  if (!request.source_dir.empty())
    outcome.source = Checkpoint::open(open_store(request.source_dir, {}), open_options);

  FixOptions options = request.options;
  if (options.apply_safe) {
    static const RuleSet rules = RuleSet::builtin();
    ScanOptions scan_options;
    scan_options.threads = request.threads;
    options =
        options_for_findings(options, run_rules(select_rules(rules, {}, {}), *outcome.checkpoint,
                                                outcome.source.get(), scan_options));
  }
  outcome.plan = plan_fixes(*outcome.checkpoint, outcome.source.get(), options);

  if (!request.dry_run) {
    WriteOptions write_options{request.threads, request.force};
    if (request.in_place) {
      if (outcome.plan.changes_anything())
        outcome.written = write_in_place(*outcome.checkpoint, outcome.plan, write_options);
    } else {
      outcome.written =
          write_out_of_place(*outcome.checkpoint, outcome.plan, request.out_dir, write_options);
    }
  }
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return outcome;
}

}  // namespace ckd

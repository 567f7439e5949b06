#include "fix/fix_command.h"

#include <chrono>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "fix/dir_lock.h"
#include "io/paths.h"
#include "remote/remote_store.h"
#include "rules/engine.h"
#include "rules/rule_set.h"

namespace ckd {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

FixOutcome run_fix(const FixRequest& request) {
  auto start = std::chrono::steady_clock::now();
  FixOutcome outcome;
  if (is_remote_location(request.dir)) {
    throw FixError(
        fmt::format("{}: fix rewrites local files; download the checkpoint (`hf "
                    "download`) and fix the directory",
                    request.dir));
  }
  // An --in-place run holds DIR's lock from recovery to the last rename.
  std::optional<DirLock> lock;
  const std::string dir_real = real_path(request.dir);
  std::error_code ec;
  const bool local_dir = !dir_real.empty() && std::filesystem::is_directory(dir_real, ec);
  if (request.in_place && !request.dry_run && local_dir) {
    lock.emplace(dir_real);
    Recovery recovery = recover_in_place(dir_real);
    if (!recovery.note.empty()) outcome.notes.push_back(recovery.note);
    if (recovery.kind == Recovery::kFinished) {
      // The interrupted run was this fix (or another one): applying it again would apply it
      // twice (a prefix stripped twice), so the run stops here.
      outcome.finished_interrupted = true;
      outcome.seconds = seconds_since(start);
      return outcome;
    }
  } else if (local_dir) {
    JournalInspection journal = inspect_journal(dir_real);
    if (journal.state == JournalState::kOurs) {
      throw FixError(
          fmt::format("{} is in the middle of an --in-place fix; run `ckptdoctor fix {} "
                      "--in-place` to finish it first",
                      request.dir, request.dir));
    }
    if (journal.state == JournalState::kForeign) {
      throw FixError(fmt::format(
          "{}/{}/{}: not a journal this ckptdoctor wrote in this directory ({}); check the "
          "checkpoint and remove {}/{} first",
          dir_real, kStagingDirName, kCommitFileName, journal.reason, dir_real, kStagingDirName));
    }
  }
  OpenOptions open_options;
  open_options.threads = request.threads;
  outcome.checkpoint = Checkpoint::open(request.dir, open_options);
  if (!request.source_dir.empty())
    outcome.source = Checkpoint::open(open_store(request.source_dir, {}), open_options);

  FixOptions options = request.options;
  if (options.apply_safe) {
    static const RuleSet builtin = RuleSet::builtin();
    const std::vector<const Rule*> rules =
        request.rules ? *request.rules : select_rules(builtin, {}, {});
    ScanOptions scan_options;
    scan_options.threads = request.threads;
    options = options_for_findings(
        options, run_rules(rules, *outcome.checkpoint, outcome.source.get(), scan_options));
  }
  outcome.plan = plan_fixes(*outcome.checkpoint, outcome.source.get(), options);

  if (!request.dry_run) {
    WriteOptions write_options{request.threads, request.force, request.progress};
    if (request.in_place) {
      if (outcome.plan.changes_anything())
        outcome.written = write_in_place(*outcome.checkpoint, outcome.plan, write_options);
    } else {
      outcome.written =
          write_out_of_place(*outcome.checkpoint, outcome.plan, request.out_dir, write_options);
    }
  }
  outcome.seconds = seconds_since(start);
  return outcome;
}

}  // namespace ckd

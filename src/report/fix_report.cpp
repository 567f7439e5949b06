#include "report/fix_report.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "report/json_report.h"

#include "rules/checks/util.h"

namespace ckd {

void write_fix_report(std::ostream& out, const FixRequest& request, const FixOutcome& outcome,
                      const Palette& p) {
  const FixPlan& plan = outcome.plan;
  std::string target = request.dry_run    ? "(dry run)"
                       : request.in_place ? "(in place)"
                                          : "-> " + printable(request.out_dir);
  out << p.bold(fmt::format("ckptdoctor fix {} {}", printable(request.dir), target)) << "\n";
  for (const std::string& note : outcome.notes) out << "note: " << note << "\n";
  if (outcome.finished_interrupted) {
    out << "the interrupted fix is finished; nothing else was applied (run a fix again only to "
           "change the checkpoint further)\n";
    return;
  }

  for (const FixSummary& s : plan.summaries) {
    std::string tag = s.unsafe ? p.paint(" UNSAFE", "1;31") : "";
    std::string rule = s.repairs.empty() ? "" : p.dim(fmt::format(" [{}]", s.repairs));
    if (s.count == 0) {
      out << fmt::format("  {}{}{}: nothing matched\n", printable(s.fix), tag, rule);
      continue;
    }
    out << fmt::format("  {}{}{}: {} {}\n", printable(s.fix), tag, rule, with_commas(s.count),
                       s.what);
    for (const std::string& e : s.examples) out << "      " << printable(e) << "\n";
    if (s.count > s.examples.size())
      out << p.dim(
          fmt::format("      ... and {} more\n", with_commas(s.count - s.examples.size())));
  }

  size_t rewritten = 0;
  uint64_t rewritten_bytes = 0;
  for (const OutputShard& s : plan.shards) {
    if (!s.rewrite) continue;
    ++rewritten;
    for (const OutputTensor& t : s.tensors)
      if (!t.dropped) rewritten_bytes += t.nbytes();
  }
  std::vector<std::string> parts;
  parts.push_back(fmt::format("{} of {} shards rewritten ({})", rewritten, plan.shards.size(),
                              human_bytes(rewritten_bytes)));
  if (plan.index_changed) parts.push_back("index regenerated");
  for (const auto& [name, text] : plan.edited_files) parts.push_back(name + " edited");
  if (!request.in_place)
    parts.push_back(fmt::format("{} other files copied",
                                plan.copied_files.size() + (plan.shards.size() - rewritten)));
  out << fmt::format("  {}\n", fmt::join(parts, "; "));

  if (request.dry_run) {
    out << (plan.changes_anything()
                ? "dry run: nothing was written; the fix would change the checkpoint\n"
                : "dry run: nothing to change\n");
  } else if (!outcome.written) {
    out << "nothing to change; the checkpoint was left as it is\n";
  } else {
    const WriteStats& w = *outcome.written;
    out << fmt::format(
        "wrote {}: {} shards rewritten, {} files copied, {} written and verified "
        "byte for byte in {:.2f} s\n",
        request.in_place ? printable(request.dir) : printable(request.out_dir), w.files_rewritten,
        w.files_copied, human_bytes(w.bytes), outcome.seconds);
  }
}

void write_fix_json(std::ostream& out, const FixRequest& request, const FixOutcome& outcome,
                    const ScanReport* rescan) {
  const FixPlan& plan = outcome.plan;
  nlohmann::json fixes = nlohmann::json::array();
  for (const FixSummary& s : plan.summaries) {
    fixes.push_back({{"fix", s.fix},
                     {"repairs", s.repairs},
                     {"unsafe", s.unsafe},
                     {"what", s.what},
                     {"count", s.count},
                     {"examples", s.examples}});
  }
  nlohmann::json shards = nlohmann::json::array();
  for (const OutputShard& s : plan.shards) {
    size_t tensors = 0;
    uint64_t bytes = 0;
    for (const OutputTensor& t : s.tensors) {
      if (t.dropped) continue;
      ++tensors;
      bytes += t.nbytes();
    }
    shards.push_back(
        {{"file", s.file}, {"rewrite", s.rewrite}, {"tensors", tensors}, {"bytes", bytes}});
  }
  nlohmann::json edited = nlohmann::json::array();
  for (const auto& [name, text] : plan.edited_files) edited.push_back(name);
  nlohmann::json doc = {
      {"version", 1},
      {"checkpoint", request.dir},
      {"mode", request.dry_run    ? "dry-run"
               : request.in_place ? "in-place"
                                  : "output"},
      {"output", request.in_place || request.dry_run ? nullptr : nlohmann::json(request.out_dir)},
      {"notes", outcome.notes},
      {"finished_interrupted", outcome.finished_interrupted},
      {"changes", plan.changes_anything()},
      {"fixes", fixes},
      {"shards", shards},
      {"index_changed", plan.index_changed},
      {"edited_files", edited},
      {"copied_files", request.in_place ? 0 : plan.copied_files.size()},
      {"written", nullptr},
      {"rescan", nullptr},
  };
  if (outcome.written) {
    doc["written"] = {{"files_rewritten", outcome.written->files_rewritten},
                      {"files_copied", outcome.written->files_copied},
                      {"bytes", outcome.written->bytes},
                      {"seconds", outcome.seconds}};
  }
  if (rescan) {
    nlohmann::json findings = nlohmann::json::array();
    for (const Finding& f : rescan->findings) findings.push_back(finding_json(f));
    doc["rescan"] = {{"errors", rescan->errors},
                     {"warnings", rescan->warnings},
                     {"infos", rescan->infos},
                     {"failed", rescan->failed},
                     {"findings", findings}};
  }
  out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace ckd

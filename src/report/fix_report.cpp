#include "report/fix_report.h"

#include <fmt/format.h>

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

}  // namespace ckd

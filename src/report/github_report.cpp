#include "report/github_report.h"

#include <map>

#include <fmt/format.h>

#include "report/ci_common.h"
#include "report/text_style.h"

namespace ckd {
namespace {

constexpr size_t kMessagesPerAnnotation = 5;
constexpr size_t kAnnotationCap = 10;       // errors, and warnings, shown per step
constexpr size_t kSummaryCap = 900 * 1024;  // GitHub shows at most 1 MiB per step summary

const char* command_of(Severity s) {
  return s == Severity::kError ? "error" : s == Severity::kWarning ? "warning" : "notice";
}

// Pipes would end a Markdown table cell; printable() already escaped the newlines.
std::string table_cell(std::string_view s) {
  return replace_chars(printable(s), {{'|', "\\|"}});
}

}  // namespace

std::string github_escape_data(std::string_view s) {
  return replace_chars(s, {{'%', "%25"}, {'\r', "%0D"}, {'\n', "%0A"}});
}

std::string github_escape_property(std::string_view s) {
  return replace_chars(github_escape_data(s), {{':', "%3A"}, {',', "%2C"}});
}

namespace {

struct Group {
  std::string path;  // the first finding's file
  std::vector<const Finding*> findings;
};

// Findings grouped by `key`, in the order of their first finding.
template <typename Key>
std::vector<Group> group_findings(const ScanReport& report, FindingLocator& locate, Key&& key) {
  std::vector<Group> groups;
  std::map<std::string, size_t> index;
  for (const Finding& f : report.findings) {
    auto [it, added] = index.emplace(key(f), groups.size());
    if (added) groups.push_back({locate.path(f), {}});
    groups[it->second].findings.push_back(&f);
  }
  return groups;
}

size_t count_at(const std::vector<Group>& groups, Severity s) {
  size_t n = 0;
  for (const Group& g : groups) n += g.findings.front()->severity == s;
  return n;
}

}  // namespace

void write_github_report(std::ostream& out, const ScanReport& report) {
  FindingLocator locate(report);
  // One annotation per (rule, file); per rule when that would pass the per-step cap.
  std::vector<Group> groups = group_findings(
      report, locate, [&](const Finding& f) { return f.code + '\n' + locate.path(f); });
  if (count_at(groups, Severity::kError) > kAnnotationCap ||
      count_at(groups, Severity::kWarning) > kAnnotationCap) {
    groups = group_findings(report, locate, [](const Finding& f) { return f.code; });
  }
  const std::map<Severity, bool> over_cap = {
      {Severity::kError, count_at(groups, Severity::kError) > kAnnotationCap},
      {Severity::kWarning, count_at(groups, Severity::kWarning) > kAnnotationCap},
      {Severity::kInfo, false}};
  std::map<Severity, size_t> emitted;
  std::map<Severity, std::vector<std::string>> left_out;
  for (const Group& g : groups) {
    const Finding& f = *g.findings.front();
    // The last annotation a level may show names the rules that did not fit.
    if (over_cap.at(f.severity) && emitted[f.severity] + 1 >= kAnnotationCap) {
      left_out[f.severity].push_back(fmt::format("{} {} ({})", f.code, f.name, g.findings.size()));
      continue;
    }
    ++emitted[f.severity];
    std::string body;
    for (size_t i = 0; i < g.findings.size() && i < kMessagesPerAnnotation; ++i) {
      const Finding& x = *g.findings[i];
      if (i) body += '\n';
      body += printable(x.tensor.empty() ? x.message : x.tensor + ": " + x.message);
    }
    if (g.findings.size() > kMessagesPerAnnotation)
      body += fmt::format("\n... and {} more", g.findings.size() - kMessagesPerAnnotation);
    std::string title = g.findings.size() == 1
                            ? fmt::format("{} {}", f.code, f.name)
                            : fmt::format("{} {} ({} findings)", f.code, f.name, g.findings.size());
    out << fmt::format("::{} file={},line={},title={}::{}\n", command_of(f.severity),
                       github_escape_property(g.path), locate.line(f),
                       github_escape_property(title), github_escape_data(body));
  }
  for (const auto& [severity, rules] : left_out) {
    out << fmt::format("::{} title={}::{}\n", command_of(severity),
                       github_escape_property(fmt::format("{} more rules", rules.size())),
                       github_escape_data(fmt::format(
                           "GitHub shows {} annotations of a kind per step; the rest are in the "
                           "step summary (--format json or sarif for all): {}",
                           kAnnotationCap, fmt::join(rules, ", "))));
  }
  out << fmt::format("ckptdoctor: {}: {} errors, {} warnings, {} infos{}\n", report.dir,
                     report.errors, report.warnings, report.infos,
                     report.failed ? " (failed)" : "");
}

std::string github_step_summary(const ScanReport& report) {
  FindingLocator locate(report);
  std::string md = fmt::format(
      "## ckptdoctor scan of `{}`\n\n{} errors, {} warnings, {} infos; "
      "{} tensors in {} files; {}\n\n",
      table_cell(report.dir), report.errors, report.warnings, report.infos, report.tensors,
      report.files, report.failed ? "**failed**" : "passed");
  if (report.findings.empty()) return md;
  md += "| severity | rule | file | tensor | message |\n|---|---|---|---|---|\n";
  size_t shown = 0;
  for (const Finding& f : report.findings) {
    std::string row =
        fmt::format("| {} | {} {} | {} | {} | {} |\n", severity_name(f.severity), f.code, f.name,
                    table_cell(locate.path(f)), table_cell(f.tensor), table_cell(f.message));
    if (md.size() + row.size() > kSummaryCap) break;
    md += row;
    ++shown;
  }
  if (shown < report.findings.size())
    md += fmt::format(
        "\n{} more findings are not shown (the step summary is capped at 1 MiB); "
        "use --format json or sarif for all of them.\n",
        report.findings.size() - shown);
  return md;
}

}  // namespace ckd

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

}  // namespace

// Text from the checkpoint in GitHub-flavoured Markdown (a table cell or a line): every
// character that could start emphasis, code, a link, HTML, a heading or end the cell is
// backslash-escaped (GFM allows that for any ASCII punctuation), so `__metadata__` stays literal
// and a hostile name cannot inject markup. printable() already escaped the newlines.
std::string markdown_text(std::string_view s) {
  std::string out;
  for (char c : printable(s)) {
    if (std::string_view("\\`*_{}[]()<>#+-.!|~&").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::string github_escape_data(std::string_view s) {
  return replace_chars(s, {{'%', "%25"}, {'\r', "%0D"}, {'\n', "%0A"}});
}

std::string github_escape_property(std::string_view s) {
  return replace_chars(github_escape_data(s), {{':', "%3A"}, {',', "%2C"}});
}

namespace {

struct Group {
  std::string path;     // the first finding's file
  const Finding* head;  // the first finding (or note): rule and severity
  std::vector<const Finding*> findings;
  uint64_t omitted = 0;  // findings of the rule its check did not list (counted here)

  uint64_t count() const { return findings.size() + omitted; }
};

// Findings grouped by `key`, in the order of their first finding. A capped check's note for
// unlisted findings adds its count to its rule's last group (it has no file of its own).
template <typename Key>
std::vector<Group> group_findings(const ScanReport& report, FindingLocator& locate, Key&& key) {
  std::vector<Group> groups;
  std::map<std::string, size_t> index, last_of_rule;
  for (const Finding& f : report.findings) {
    if (auto last = last_of_rule.find(f.code); f.omitted && last != last_of_rule.end()) {
      groups[last->second].omitted += f.omitted;
      continue;
    }
    auto [it, added] = index.emplace(key(f), groups.size());
    if (added) groups.push_back({locate.path(f), &f, {}, 0});
    if (f.omitted) {
      groups[it->second].omitted += f.omitted;  // a note with nothing listed before it
    } else {
      groups[it->second].findings.push_back(&f);
    }
    last_of_rule[f.code] = it->second;
  }
  return groups;
}

size_t count_at(const std::vector<Group>& groups, Severity s) {
  size_t n = 0;
  for (const Group& g : groups) n += g.head->severity == s;
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
    const Finding& f = *g.head;
    // The last annotation a level may show names the rules that did not fit.
    if (over_cap.at(f.severity) && emitted[f.severity] + 1 >= kAnnotationCap) {
      left_out[f.severity].push_back(fmt::format("{} {} ({})", f.code, f.name, g.count()));
      continue;
    }
    ++emitted[f.severity];
    std::string body;
    for (size_t i = 0; i < g.findings.size() && i < kMessagesPerAnnotation; ++i) {
      const Finding& x = *g.findings[i];
      if (i) body += '\n';
      body += printable(x.tensor.empty() ? x.message : x.tensor + ": " + x.message);
    }
    size_t shown = std::min(g.findings.size(), kMessagesPerAnnotation);
    if (g.count() > shown) body += fmt::format("\n... and {} more", g.count() - shown);
    std::string title = g.count() == 1
                            ? fmt::format("{} {}", f.code, f.name)
                            : fmt::format("{} {} ({} findings)", f.code, f.name, g.count());
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
  out << fmt::format("ckptdoctor: {}: {}, {}, {}{}\n", report.dir,
                     count_of(report.errors, "error"), count_of(report.warnings, "warning"),
                     count_of(report.infos, "info", "infos"), report.failed ? " (failed)" : "");
}

std::string github_step_summary(const ScanReport& report) {
  FindingLocator locate(report);
  std::string md = fmt::format(
      "## ckptdoctor scan of {}\n\n{}, {}, {}; {} in {}; {}\n\n", markdown_text(report.dir),
      count_of(report.errors, "error"), count_of(report.warnings, "warning"),
      count_of(report.infos, "info", "infos"), count_of(report.tensors, "tensor"),
      count_of(report.files, "file"), report.failed ? "**failed**" : "passed");
  if (report.findings.empty()) return md;
  md += "| severity | rule | file | tensor | message |\n|---|---|---|---|---|\n";
  size_t listed = 0, shown = 0;
  bool full = false;
  std::string notes;
  for (const Finding& f : report.findings) {
    if (f.omitted) {  // a capped check's note: below the table, never a row without a file
      notes += fmt::format("- {} {}: {} not listed ({})\n", f.code, f.name,
                           count_of(f.omitted, "more finding"), markdown_text(f.message));
      continue;
    }
    ++listed;
    std::string row = fmt::format("| {} | {} {} | {} | {} | {} |\n", severity_name(f.severity),
                                  f.code, f.name, markdown_text(locate.path(f)),
                                  markdown_text(f.tensor), markdown_text(f.message));
    full = full || md.size() + row.size() + notes.size() > kSummaryCap;
    if (full) continue;
    md += row;
    ++shown;
  }
  if (!notes.empty()) md += "\n" + notes;
  if (shown < listed)
    md += fmt::format(
        "\n{} are not shown (the step summary is capped at 1 MiB); "
        "use --format json or sarif for all of them.\n",
        count_of(listed - shown, "more finding"));
  return md;
}

}  // namespace ckd

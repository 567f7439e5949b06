#include "report/markdown_report.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "report/ci_common.h"
#include "report/compare_report.h"
#include "report/github_report.h"
#include "report/text_style.h"

namespace ckd {
namespace {

constexpr size_t kShownPerRule = 10;    // listed openly under a rule's heading
constexpr size_t kListedPerRule = 200;  // inside its <details>; the rest is counted
constexpr size_t kModulesInline = 20;   // compare's per-layer table collapses above this

std::string gate(const ScanReport& r) {
  if (!r.fail_on) return "report only (--fail-on never)";
  return fmt::format("{} (--fail-on {})", r.failed ? "**FAIL**" : "**pass**",
                     severity_name(*r.fail_on));
}

const Rule* rule_of(const ScanReport& r, const std::string& code) {
  for (const Rule* rule : r.rules)
    if (rule->code == code) return rule;
  return nullptr;
}

std::string finding_line(const Finding& f) {
  std::string where = markdown_text(f.file);
  if (!f.tensor.empty()) where += (where.empty() ? "" : " · ") + markdown_text(f.tensor);
  if (where.empty()) where = "(checkpoint)";
  return fmt::format("- {}: {}\n", where, markdown_text(f.message));
}

void write_summary_table(std::ostream& out, const ScanReport& r) {
  out << "| errors | warnings | infos | gate |\n|---:|---:|---:|---|\n";
  out << fmt::format("| {} | {} | {} | {} |\n\n", r.errors, r.warnings, r.infos, gate(r));
}

// Rule names are kebab-case and codes CKD + digits (checked when rules load): printed as they
// are, so the Markdown source reads as well as the rendered page. Text from the checkpoint is
// always escaped.

// One heading per rule (findings arrive sorted by severity, then code), a table of contents
// first so a long report can be skimmed.
void write_findings(std::ostream& out, const ScanReport& r) {
  if (r.findings.empty()) {
    out << "No findings.\n\n";
    return;
  }
  struct Group {
    size_t begin, end;
    uint64_t count;
  };
  std::vector<Group> groups;
  for (size_t i = 0; i < r.findings.size();) {
    size_t j = i;
    uint64_t count = 0;
    while (j < r.findings.size() && r.findings[j].code == r.findings[i].code)
      count += r.findings[j++].count();
    groups.push_back({i, j, count});
    i = j;
  }
  out << "### Findings by rule\n\n| severity | rule | code | findings |\n|---|---|---|---:|\n";
  for (const Group& g : groups) {
    const Finding& head = r.findings[g.begin];
    out << fmt::format("| {} | {} | {} | {} |\n", severity_name(head.severity), head.name,
                       head.code, g.count);
  }
  out << "\n";
  for (const Group& g : groups) {
    const Finding& head = r.findings[g.begin];
    out << fmt::format("#### {} {} ({}) ×{}\n\n", severity_name(head.severity), head.name,
                       head.code, g.count);
    // The rule's own one-line summary, Markdown as written (its `code` spans render).
    if (const Rule* rule = rule_of(r, head.code); rule && !rule->docs.summary.empty())
      out << "> " << printable(rule->docs.summary) << "\n\n";
    std::vector<const Finding*> listed;
    std::vector<const Finding*> notes;
    for (size_t k = g.begin; k < g.end; ++k)
      (r.findings[k].omitted ? notes : listed).push_back(&r.findings[k]);
    for (size_t k = 0; k < listed.size() && k < kShownPerRule; ++k) out << finding_line(*listed[k]);
    if (listed.size() > kShownPerRule) {
      size_t hidden = listed.size() - kShownPerRule;
      out << fmt::format("\n<details><summary>{}</summary>\n\n", count_of(hidden, "more finding"));
      for (size_t k = kShownPerRule; k < listed.size() && k < kListedPerRule; ++k)
        out << finding_line(*listed[k]);
      if (listed.size() > kListedPerRule)
        out << fmt::format("- … {} not listed here (--format json lists all)\n",
                           count_of(listed.size() - kListedPerRule, "more finding"));
      out << "\n</details>\n";
    }
    for (const Finding* note : notes)
      out << fmt::format("- {} not listed by the check: {}\n",
                         count_of(note->omitted, "more finding"), markdown_text(note->message));
    out << "\n";
  }
}

void write_engines(std::ostream& out, const ScanReport& r) {
  if (r.engines.empty()) return;
  out << "### Engine verdicts\n\n| engine | version | verdict | why |\n|---|---|---|---|\n";
  for (const EngineVerdict& e : r.engines) {
    std::string why;
    for (const EngineReason& reason : e.reasons) {
      if (!why.empty()) why += "<br>";
      why +=
          markdown_text(reason.rule.empty() ? reason.message : reason.rule + ": " + reason.message);
    }
    out << fmt::format("| {} | {} | {} | {} |\n", markdown_text(e.engine), markdown_text(e.version),
                       e.verdict, why);
  }
  out << "\n";
}

void write_tail(std::ostream& out, const ScanReport& r) {
  if (!r.not_run.empty()) {
    out << fmt::format("<details><summary>{} not run (not a pass)</summary>\n\n",
                       count_of(r.not_run.size(), "rule"));
    for (const auto& [rule, reason] : r.not_run)
      out << fmt::format("- {} ({}): {}\n", markdown_text(rule->name), rule->code,
                         markdown_text(reason));
    out << "\n</details>\n\n";
  }
  if (r.baseline) {
    out << fmt::format("Baseline {}: {} accepted", markdown_text(r.baseline->file),
                       count_of(r.baseline->accepted, "finding"));
    uint64_t gone = 0;
    for (const auto& [finding, count] : r.baseline->gone) gone += count;
    out << fmt::format(", {} no longer found.\n\n", gone);
    if (gone) {
      out << "<details><summary>gone from the baseline (fixed)</summary>\n\n";
      for (const auto& [finding, count] : r.baseline->gone)
        out << fmt::format("- {} ({}) ×{} — {}", markdown_text(finding.name), finding.code, count,
                           finding_line(finding).substr(2));
      out << "\n</details>\n\n";
    }
  }
  out << fmt::format("<sub>ckptdoctor {} · {:.2f}s</sub>\n", ckptdoctor_version(), r.seconds);
}

// "0", "1", ..., "10" by number (the map sorts "10" before "2"), then "other".
std::vector<std::pair<std::string, ErrorSummary>> layers_in_model_order(const CompareReport& c) {
  std::vector<std::pair<std::string, ErrorSummary>> layers(c.by_layer.begin(), c.by_layer.end());
  auto key = [](const std::string& layer) {
    bool number =
        !layer.empty() && layer.size() < 10 &&
        std::all_of(layer.begin(), layer.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    return std::make_pair(!number, number ? std::stoull(layer) : 0ull);
  };
  std::stable_sort(layers.begin(), layers.end(),
                   [&](const auto& a, const auto& b) { return key(a.first) < key(b.first); });
  return layers;
}

}  // namespace

void write_markdown_report(std::ostream& out, const ScanReport& r) {
  out << fmt::format("## ckptdoctor scan of {}: {}\n\n", markdown_text(r.dir),
                     r.fail_on ? (r.failed ? "FAIL" : "pass") : "report");
  out << fmt::format("{} · {} · {} · {}", count_of(r.files, "file"), count_of(r.tensors, "tensor"),
                     human_bytes(r.tensor_bytes), markdown_text(r.scheme));
  if (!r.source_dir.empty()) out << " · source " << markdown_text(r.source_dir);
  out << "\n\n";
  write_summary_table(out, r);
  write_findings(out, r);
  write_engines(out, r);
  write_tail(out, r);
}

void write_compare_markdown(std::ostream& out, const CompareReport& c, const ScanReport& r) {
  out << fmt::format("## ckptdoctor compare of {} against {}: {}\n\n", markdown_text(c.quant_dir),
                     markdown_text(c.source_dir),
                     r.fail_on ? (r.failed ? "FAIL" : "pass") : "report");
  out << fmt::format("{} of {} over their limit · {} not decoded · {} without a source · {}\n\n",
                     c.failed, count_of(c.tensors.size(), "module"), c.undecodable.size(),
                     c.unpaired.size(), markdown_text(c.device));
  write_summary_table(out, r);
  out << "### Relative error by format\n\n"
         "| format | modules | over limit | median | p95 | max |\n|---|---:|---:|---:|---:|---:|\n";
  for (const auto& [format, s] : c.by_format)
    out << fmt::format("| {} | {} | {} | {} | {} | {} |\n", markdown_text(format), s.modules,
                       s.failed, readable_percent(s.median), readable_percent(s.p95),
                       readable_percent(s.max));
  out << "\n";
  if (!c.by_layer.empty()) {
    bool collapse = c.by_layer.size() > kModulesInline;
    if (collapse)
      out << fmt::format("<details><summary>by layer ({} layers)</summary>\n\n", c.by_layer.size());
    out << "| layer | modules | over limit | median | max |\n|---|---:|---:|---:|---:|\n";
    for (const auto& [layer, s] : layers_in_model_order(c))
      out << fmt::format("| {} | {} | {} | {} | {} |\n", markdown_text(layer), s.modules, s.failed,
                         readable_percent(s.median), readable_percent(s.max));
    out << (collapse ? "\n</details>\n\n" : "\n");
  }
  write_findings(out, r);
  write_tail(out, r);
}

}  // namespace ckd

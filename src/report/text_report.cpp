#include "report/text_report.h"

#include <map>

#include <fmt/format.h>

#include "report/text_style.h"
#include "rules/checks/util.h"

namespace ckd {

namespace {

std::string location(const Finding& f) {
  if (f.file.empty() && f.tensor.empty()) return "";
  if (f.tensor.empty()) return printable(f.file) + ": ";
  if (f.file.empty()) return printable(f.tensor) + ": ";
  return fmt::format("{}: {}: ", printable(f.file), printable(f.tensor));
}

void write_histogram(std::ostream& out, const ScanReport& r, const Palette& p) {
  out << p.bold("dtype bytes")
      << fmt::format("  {:<28}{}\n", "checkpoint",
                     r.target_dtypes.total ? "quantization targets (weights)" : "");
  std::map<std::string, bool> dtypes;
  for (const auto& [d, b] : r.checkpoint_dtypes.bytes) dtypes[d] = true;
  for (const auto& [d, b] : r.target_dtypes.bytes) dtypes[d] = true;
  for (const auto& entry : dtypes) {
    const std::string& d = entry.first;
    auto cell = [&](const DtypeBytes& h) -> std::string {
      auto it = h.bytes.find(d);
      if (it == h.bytes.end() || h.total == 0) return "";
      return fmt::format("{:>10} {:>6}", human_bytes(it->second), percent(it->second, h.total));
    };
    out << fmt::format("  {:<12}{:<28}{}\n", d, cell(r.checkpoint_dtypes), cell(r.target_dtypes));
  }
}

// One line per engine: its verdict and the first reason (the others are counted; --format json
// lists them all).
void write_engines(std::ostream& out, const ScanReport& r, const Palette& p, size_t width) {
  for (const EngineVerdict& e : r.engines) {
    std::string verdict = e.verdict == "loads"   ? p.paint(e.verdict, "1;32")
                          : e.verdict == "fails" ? p.paint(e.verdict, "1;31")
                                                 : p.paint(e.verdict, "1;33");
    std::string line = fmt::format("{} {}", p.bold(e.engine), verdict);
    if (!e.reasons.empty()) {
      line += fmt::format(": {}", printable(e.reasons.front().message));
      if (e.reasons.size() > 1) line += fmt::format(" (+{} more)", e.reasons.size() - 1);
    }
    out << wrap_text(line, width, 4) << p.dim(fmt::format("  [{}]", e.version)) << "\n";
  }
}

}  // namespace

void write_text_report(std::ostream& out, const ScanReport& r, const TextStyle& style) {
  Palette p{style.color};
  if (!style.quiet) {
    out << p.bold(fmt::format("ckptdoctor scan {}", r.dir))
        << p.dim(fmt::format("  {}, {} {}, {}", count_of(r.files, "file"), with_commas(r.tensors),
                             r.tensors == 1 ? "tensor" : "tensors", human_bytes(r.tensor_bytes)))
        << "\n"
        << p.dim(wrap_text(r.scheme, style.width, 2))
        << (r.source_dir.empty() ? "" : p.dim(fmt::format("; source {}", r.source_dir))) << "\n\n";
  }
  // Findings arrive sorted by severity then code: print a heading per rule.
  for (size_t i = 0; i < r.findings.size();) {
    size_t j = i;
    while (j < r.findings.size() && r.findings[j].code == r.findings[i].code) ++j;
    const Finding& head = r.findings[i];
    uint64_t count = 0;  // findings, those a capped check did not list included
    for (size_t k = i; k < j; ++k) count += r.findings[k].count();
    out << p.severity(head.severity) << " " << p.bold(head.name)
        << p.dim(fmt::format(" ({}) x{}", head.code, count)) << "\n";
    for (size_t k = i; k < j; ++k) {
      const Finding& f = r.findings[k];
      std::string line = "  " + location(f) + printable(f.message);
      out << wrap_text(line, style.width, 6) << "\n";
    }
    i = j;
  }
  if (style.quiet) return;
  if (!r.findings.empty()) out << "\n";
  write_histogram(out, r, p);
  std::string verdict =
      r.fail_on ? (r.failed ? p.paint("FAIL", "1;31") : p.paint("ok", "1;32")) : "report only";
  out << fmt::format("\n{}, {}, {} info in {:.2f}s: {}", count_of(r.errors, "error"),
                     count_of(r.warnings, "warning"), r.infos, r.seconds, verdict);
  if (r.fail_on) out << p.dim(fmt::format(" (--fail-on {})", severity_name(*r.fail_on)));
  out << "\n";
  if (r.baseline) {
    uint64_t gone = 0;
    for (const auto& [f, count] : r.baseline->gone) gone += count;
    out << p.dim(fmt::format("baseline {}: {} accepted (not counted above), {} gone\n",
                             printable(r.baseline->file), count_of(r.baseline->accepted, "finding"),
                             gone));
    for (const auto& [f, count] : r.baseline->gone)
      out << p.dim(wrap_text(fmt::format("  gone: {} ({}) x{} {}{}", f.name, f.code, count,
                                         location(f), printable(f.message)),
                             style.width, 6))
          << "\n";
  }
  if (!r.engines.empty()) {
    out << "\n";
    write_engines(out, r, p, style.width);
  }
  if (r.transfer) {
    double share = r.transfer->file_bytes ? 100.0 * static_cast<double>(r.transfer->bytes) /
                                                static_cast<double>(r.transfer->file_bytes)
                                          : 0.0;
    out << p.dim(fmt::format("fetched {} in {} requests: {:.3g}% of the {} of shards\n",
                             human_bytes(r.transfer->bytes), r.transfer->requests, share,
                             human_bytes(r.transfer->file_bytes)));
  }
}

}  // namespace ckd

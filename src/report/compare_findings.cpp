#include "report/compare_findings.h"

#include <algorithm>

#include <fmt/format.h>

#include "report/compare_report.h"
#include "rules/rule_set.h"

namespace ckd {
namespace {

std::string error_message(const ModuleError& m) {
  std::string message =
      fmt::format("{} relative error {} (limit {}), max abs error {:.4g}", m.format,
                  readable_percent(m.rel_error), readable_percent(m.limit), m.max_abs_error);
  if (m.nan || m.inf) message += fmt::format("; decoded weight has {} NaN, {} Inf", m.nan, m.inf);
  if (m.source_nan || m.source_inf)
    message += fmt::format("; the source has {} NaN, {} Inf (left out of the error)", m.source_nan,
                           m.source_inf);
  return message;
}

}  // namespace

ScanReport compare_findings(const CompareReport& c, const Rule& rule,
                            std::optional<Severity> fail_on) {
  ScanReport r;
  r.dir = c.quant_dir;
  r.source_dir = c.source_dir;
  std::vector<std::string> formats;
  for (const auto& [format, summary] : c.by_format) formats.push_back(format);
  r.scheme = fmt::format("compare: {} measured ({}) on {}", c.tensors.size(),
                         fmt::join(formats, ", "), c.device);
  r.tensors = c.tensors.size();
  r.tensor_bytes = c.quant_bytes;
  r.rules.push_back(&rule);
  r.seconds = c.seconds;
  auto finding = [&](Severity severity, const std::string& module, std::string message) {
    r.findings.push_back({rule.code, rule.name, severity, "", module, std::move(message), 0});
  };
  if (c.tensors.empty() && c.undecodable.empty())
    finding(Severity::kError, "", "no quantized module was measured: nothing to pass");
  for (const UndecodableModule& m : c.undecodable)
    finding(Severity::kError, m.module, "not decoded: " + m.reason);
  for (const ModuleError& m : c.tensors)
    if (!m.passed) finding(rule.severity, m.module, error_message(m));
  for (const UnpairedModule& m : c.unpaired)
    finding(Severity::kInfo, m.module, "no source tensor: " + m.reason);
  // The scan's order: severity (errors first), then the module.
  std::stable_sort(r.findings.begin(), r.findings.end(),
                   [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
  r.fail_on = fail_on;
  count_findings(r);
  return r;
}

}  // namespace ckd

#include "report/gitlab_report.h"

#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "report/ci_common.h"

namespace ckd {

void write_gitlab_report(std::ostream& out, const ScanReport& report) {
  FindingLocator locate(report);
  nlohmann::ordered_json issues = nlohmann::ordered_json::array();
  std::map<std::string, int> seen;  // GitLab merges issues with equal fingerprints
  std::map<std::string, size_t> last_of_rule;  // code -> index of its last issue
  for (const Finding& f : report.findings) {
    // Code Quality has no truncation: a capped check's note joins its rule's last listed issue.
    if (auto it = last_of_rule.find(f.code); f.omitted && it != last_of_rule.end()) {
      auto& description = issues[it->second]["description"];
      description = description.get<std::string>() +
                    fmt::format(" (and {} more {} findings not listed: {})", f.omitted, f.code,
                                f.message);
      continue;
    }
    std::string path = locate.path(f);
    std::string fingerprint = finding_fingerprint(f, path);
    if (int n = ++seen[fingerprint]; n > 1)
      fingerprint = finding_fingerprint(f, fmt::format("{}#{}", path, n));
    const char* severity = f.severity == Severity::kError     ? "critical"
                           : f.severity == Severity::kWarning ? "major"
                                                              : "info";
    last_of_rule[f.code] = issues.size();
    issues.push_back({
        {"description", fmt::format("{} {}: {}{}", f.code, f.name,
                                    f.tensor.empty() ? "" : f.tensor + ": ", f.message)},
        {"check_name", f.name},
        {"fingerprint", fingerprint},
        {"severity", severity},
        {"location", {{"path", path}, {"lines", {{"begin", locate.line(f)}}}}},
    });
  }
  out << issues.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
}

}  // namespace ckd

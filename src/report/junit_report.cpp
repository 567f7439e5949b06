#include "report/junit_report.h"

#include <map>
#include <set>

#include <fmt/format.h>

#include "report/ci_common.h"
#include "rules/rule_set.h"

namespace ckd {
namespace {

// XML 1.0 text or attribute: markup escaped, control characters (not allowed in XML 1.0 even
// as references) written as \xNN, invalid UTF-8 bytes as \xNN too.
std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '&':
        out += "&amp;";
        continue;
      case '<':
        out += "&lt;";
        continue;
      case '>':
        out += "&gt;";
        continue;
      case '"':
        out += "&quot;";
        continue;
      case '\'':
        out += "&apos;";
        continue;
      default:
        break;
    }
    if (c < 0x20 && c != '\n' && c != '\t') {
      out += fmt::format("\\x{:02x}", c);
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      // Copy a well-formed UTF-8 sequence; escape anything else.
      size_t len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
      bool ok = len > 0 && i + len <= s.size();
      for (size_t k = 1; ok && k < len; ++k)
        ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
      if (ok) {
        out.append(s.substr(i, len));
        i += len - 1;
      } else {
        out += fmt::format("\\x{:02x}", c);
      }
    }
  }
  return out;
}

struct Case {
  std::string name;
  const Finding* finding = nullptr;  // null: a rule that passed, or did not run
  bool failed = false;
  std::string skipped;  // why the rule did not run (a skipped testcase, not a pass)
};

}  // namespace

void write_junit_report(std::ostream& out, const ScanReport& report) {
  FindingLocator locate(report);
  std::map<std::string, std::vector<Case>> suites;  // path -> testcases
  std::map<std::string, std::set<std::string>> used;
  std::set<std::string> fired;
  const std::string dir_suite = locate.dir_path();
  for (const Finding& f : report.findings) {
    // A note for findings a capped check did not list: one testcase in the checkpoint's suite
    // that says how many (it fails like them), never a case pointing at no file.
    std::string path = f.omitted ? dir_suite : locate.path(f);
    std::string base =
        f.omitted ? fmt::format("{} {}: {} more findings not listed", f.code, f.name, f.omitted)
                  : fmt::format("{} {}{}", f.code, f.name, f.tensor.empty() ? "" : ": " + f.tensor);
    std::string name = base;
    for (int n = 2; used[path].count(name); ++n) name = fmt::format("{} #{}", base, n);
    used[path].insert(name);
    bool failed = report.fail_on && f.severity >= *report.fail_on;
    suites[path].push_back({name, &f, failed, ""});
    fired.insert(f.code);
  }
  // Rules that ran and found nothing pass, under the checkpoint directory's own suite; rules
  // these options did not run are skipped with the reason.
  for (const Rule* r : report.rules) {
    if (fired.count(r->code)) continue;
    suites[dir_suite].push_back({fmt::format("{} {}", r->code, r->name), nullptr, false, ""});
  }
  for (const auto& [rule, reason] : report.not_run) {
    suites[dir_suite].push_back(
        {fmt::format("{} {}", rule->code, rule->name), nullptr, false, reason});
  }

  size_t tests = 0, failures = 0, skipped = 0;
  for (const auto& [path, cases] : suites) {
    tests += cases.size();
    for (const Case& c : cases) {
      failures += c.failed;
      skipped += !c.skipped.empty();
    }
  }
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << fmt::format(
      "<testsuites name=\"ckptdoctor\" tests=\"{}\" failures=\"{}\" errors=\"0\" "
      "skipped=\"{}\" time=\"{:.3f}\">\n",
      tests, failures, skipped, report.seconds);
  for (const auto& [path, cases] : suites) {
    size_t suite_failures = 0, suite_skipped = 0;
    for (const Case& c : cases) {
      suite_failures += c.failed;
      suite_skipped += !c.skipped.empty();
    }
    out << fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n",
        xml_escape(path), cases.size(), suite_failures, suite_skipped);
    for (const Case& c : cases) {
      out << fmt::format("    <testcase classname=\"{}\" name=\"{}\"", xml_escape(path),
                         xml_escape(c.name));
      if (!c.skipped.empty()) {
        out << fmt::format(">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                           xml_escape("did not run: it " + c.skipped));
        continue;
      }
      if (!c.finding) {
        out << "/>\n";
        continue;
      }
      const Finding& f = *c.finding;
      std::string detail =
          fmt::format("{} {} ({}): {}{}", f.code, f.name, severity_name(f.severity),
                      f.tensor.empty() ? "" : f.tensor + ": ", f.message);
      if (c.failed) {
        out << fmt::format(">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n",
                           severity_name(f.severity), xml_escape(f.message), xml_escape(detail));
      } else {
        out << fmt::format(">\n      <system-out>{}</system-out>\n", xml_escape(detail));
      }
      out << "    </testcase>\n";
    }
    out << "  </testsuite>\n";
  }
  out << "</testsuites>\n";
}

}  // namespace ckd

#include "cli/report_output.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string_view>

#include <fmt/format.h>

#include "io/atomic_file.h"
#include "io/byte_source.h"
#include "report/github_report.h"
#include "report/gitlab_report.h"
#include "report/junit_report.h"
#include "report/sarif_report.h"

namespace ckd::cli {

bool is_ci_format(const std::string& format) {
  for (std::string_view f : kCiFormats)
    if (f == format) return true;
  return false;
}

void write_ci_format(std::ostream& out, const std::string& format, const ScanReport& report) {
  if (format == "sarif") {
    write_sarif_report(out, report);
  } else if (format == "junit") {
    write_junit_report(out, report);
  } else if (format == "gitlab") {
    write_gitlab_report(out, report);
  } else if (format == "github") {
    write_github_report(out, report);
    if (const char* summary = std::getenv("GITHUB_STEP_SUMMARY"); summary && *summary) {
      std::ofstream step(summary, std::ios::binary | std::ios::app);
      step << github_step_summary(report);
      if (!step) std::cerr << fmt::format("ckptdoctor: warning: cannot append to {}\n", summary);
    }
  }
}

void emit_report(const std::string& output_file, const std::function<void(std::ostream&)>& write) {
  if (!output_file.empty()) {
    write_file_atomically(output_file, write);
    return;
  }
  write(std::cout);
  std::cout.flush();
  if (!std::cout) throw IoError("stdout: writing the report failed");
}

}  // namespace ckd::cli

// --format junit: JUnit XML for GitLab / Jenkins / Azure test dashboards (ECOSYSTEM.md 2.1): one
// testsuite per file, one testcase per finding with a name unique in its suite (GitLab keeps
// only the first of duplicates), a failure when the finding is at or above --fail-on, and one
// passing testcase per rule that found nothing, so a clean scan shows its checks.
#pragma once

#include <ostream>

#include "scan/scan.h"

namespace ckd {

void write_junit_report(std::ostream& out, const ScanReport& report);

}  // namespace ckd

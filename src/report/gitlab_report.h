// --format gitlab: GitLab Code Quality JSON (artifacts: reports: codequality): one issue per
// finding with description, check_name, a stable fingerprint, severity and location.
#pragma once

#include <ostream>

#include "scan/scan.h"

namespace ckd {

void write_gitlab_report(std::ostream& out, const ScanReport& report);

}  // namespace ckd

// Machine output (--format json): the stable schema documented in docs/json-report.md.
#pragma once

#include <ostream>

#include "scan/scan.h"

namespace ckd {

inline constexpr int kJsonReportVersion = 1;
void write_json_report(std::ostream& out, const ScanReport& report);

}  // namespace ckd

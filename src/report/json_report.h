// Machine output (--format json): the stable schema documented in docs/json-report.md.
#pragma once

#include <ostream>

#include <nlohmann/json.hpp>

#include "scan/scan.h"

namespace ckd {

inline constexpr int kJsonReportVersion = 1;
void write_json_report(std::ostream& out, const ScanReport& report);
// The document write_json_report prints (also one line of --format jsonl).
nlohmann::json scan_report_json(const ScanReport& report);

// One finding as the report writes it (also used by the fix report's re-scan).
nlohmann::json finding_json(const Finding& f);

}  // namespace ckd

// Where a command's report goes: stdout, or with --output-file a file published whole
// (io/atomic_file.h, the helper fix stages with), and the scan-shaped formats the scan and
// compare gates share.
#pragma once

#include <functional>
#include <ostream>
#include <string>

#include "scan/scan.h"

namespace ckd::cli {

// The formats whose input is a ScanReport besides text and json.
inline constexpr const char* kCiFormats[] = {"sarif", "junit", "github", "gitlab"};
bool is_ci_format(const std::string& format);

// sarif, junit, gitlab or github (with $GITHUB_STEP_SUMMARY appended to when set).
void write_ci_format(std::ostream& out, const std::string& format, const ScanReport& report);

// Runs `write` on stdout, or on OUTPUT_FILE's stand-in that replaces it once complete. Throws
// IoError naming stdout or the file when the write fails.
void emit_report(const std::string& output_file, const std::function<void(std::ostream&)>& write);

}  // namespace ckd::cli

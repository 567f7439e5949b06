// --format github: GitHub Actions workflow commands. A step shows at most 10 error and 10 warning
// annotations (the rest are dropped silently), so findings are grouped: one annotation per
// (rule, file) with the count and the first messages. The full table is appended as Markdown to
// $GITHUB_STEP_SUMMARY when that is set (ECOSYSTEM.md 2.1).
#pragma once

#include <ostream>
#include <string>

#include "scan/scan.h"

namespace ckd {

void write_github_report(std::ostream& out, const ScanReport& report);

// The Markdown table for the step summary (capped below GitHub's 1 MiB per step).
std::string github_step_summary(const ScanReport& report);

// Workflow-command escaping (actions/toolkit command.ts): message data, and property values.
std::string github_escape_data(std::string_view s);
std::string github_escape_property(std::string_view s);

// Text for Markdown (the step summary, --format markdown): every ASCII punctuation character that
// could start markup backslash-escaped, control characters escaped by printable().
std::string markdown_text(std::string_view s);

}  // namespace ckd

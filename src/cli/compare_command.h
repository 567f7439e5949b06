// `ckptdoctor compare QUANT --source BF16`: the round-trip measurement as a gate: its own text,
// json and --html page, and the scan's formats (sarif, junit, github, gitlab, markdown) with each
// failing module a roundtrip-error finding (report/compare_findings.h).
#pragma once

#include "cli/command.h"

namespace ckd::cli {

Command add_compare_command(CLI::App& app);

}  // namespace ckd::cli

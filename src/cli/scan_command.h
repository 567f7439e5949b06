// `ckptdoctor scan DIR`: run the rules over a checkpoint and report (text, json, the CI formats,
// markdown), gated by --fail-on and optionally by a --baseline of accepted findings.
#pragma once

#include "cli/command.h"

namespace ckd::cli {

Command add_scan_command(CLI::App& app);

}  // namespace ckd::cli

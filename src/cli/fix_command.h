// `ckptdoctor fix DIR`: the command line of a repair (options, rule settings, the report and the
// re-scan of the output); src/fix/fix_command.h runs the repair itself.
#pragma once

#include "cli/command.h"

namespace ckd::cli {

Command add_fix_command(CLI::App& app);

}  // namespace ckd::cli

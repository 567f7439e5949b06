// `ckptdoctor completions SHELL` and `ckptdoctor man`: generated from the registered commands
// (cli/completions.h), so register them last.
#pragma once

#include "cli/command.h"

namespace ckd::cli {

Command add_completions_command(CLI::App& app);
Command add_man_command(CLI::App& app);

}  // namespace ckd::cli

// `ckptdoctor rules [NAME|FAMILY]`: list the rules, one family or code prefix (rules scales,
// rules CKD5), or explain one rule.
#pragma once

#include "cli/command.h"

namespace ckd::cli {

Command add_rules_command(CLI::App& app);

}  // namespace ckd::cli

// Human output of `ckptdoctor fix`: each fix with its count and two examples, what will be (or
// was) written, and what recovery did.
#pragma once

#include <ostream>

#include "fix/fix_command.h"
#include "report/text_style.h"

namespace ckd {

void write_fix_report(std::ostream& out, const FixRequest& request, const FixOutcome& outcome,
                      const Palette& palette);

}  // namespace ckd

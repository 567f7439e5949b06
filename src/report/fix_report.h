// Human output of `ckptdoctor fix`: each fix with its count and two examples, what will be (or
// was) written, and what recovery did.
#pragma once

#include <ostream>

#include "fix/fix_command.h"
#include "report/text_style.h"
#include "scan/scan.h"

namespace ckd {

void write_fix_report(std::ostream& out, const FixRequest& request, const FixOutcome& outcome,
                      const Palette& palette);

// --format json: the plan, what was written, and the re-scan of the output (null when nothing
// was written), as one document.
void write_fix_json(std::ostream& out, const FixRequest& request, const FixOutcome& outcome,
                    const ScanReport* rescan);

}  // namespace ckd

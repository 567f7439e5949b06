// --format sarif: SARIF 2.1.0 as GitHub code scanning reads it (ECOSYSTEM.md 2.1): the rules
// that ran with their docs, one result per finding located at the file's repository path (the
// line of the tensor's key in the index), and a stable fingerprint of (rule, file, tensor).
#pragma once

#include <ostream>

#include "scan/scan.h"

namespace ckd {

void write_sarif_report(std::ostream& out, const ScanReport& report);

}  // namespace ckd

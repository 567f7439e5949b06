// Human output: findings grouped by rule with counts, then dtype-byte histograms.
#pragma once

#include <ostream>

#include "scan/scan.h"

namespace ckd {

struct TextStyle {
  bool color = false;
  bool quiet = false;  // findings only
  size_t width = 0;    // wrap finding lines at this many columns (a terminal's width); 0: never
};

void write_text_report(std::ostream& out, const ScanReport& report, const TextStyle& style);

}  // namespace ckd

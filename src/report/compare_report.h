// The compare command's reports: text (failures and the worst modules first, then the summaries)
// and JSON ({"tensors", "unpaired", "summary"}).
#pragma once

#include <ostream>

#include "compare/compare.h"
#include "report/text_style.h"

namespace ckd {

void write_compare_text(std::ostream& out, const CompareReport& r, const Palette& p);
void write_compare_json(std::ostream& out, const CompareReport& r);

}  // namespace ckd

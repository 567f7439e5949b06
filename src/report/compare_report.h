// The compare command's reports: text (failures and the worst modules first, then the summaries)
// and JSON ({"tensors", "unpaired", "summary"}).
#pragma once

#include <ostream>
#include <string>

#include "compare/compare.h"
#include "report/text_style.h"

namespace ckd {

// A ratio as a percentage a person can read: "9.53%", "412.70%", and from 1000% on the
// exponent form "8.13e10%" (an inverted scale gives errors of 1e6% and more).
std::string readable_percent(double ratio);

void write_compare_text(std::ostream& out, const CompareReport& r, const Palette& p);
void write_compare_json(std::ostream& out, const CompareReport& r);

}  // namespace ckd

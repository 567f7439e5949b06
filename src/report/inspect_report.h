// ckptdoctor inspect's reporters: text for a person, JSON (schema in README "inspect") for tools.
#pragma once

#include <ostream>

#include "inspect/inspect.h"
#include "report/text_style.h"

namespace ckd {

void write_inspect_text(std::ostream& out, const InspectReport& report, const Palette& palette);
void write_inspect_json(std::ostream& out, const InspectReport& report);

// "7.6B", "494M", "1.2K", "12" (parameter counts as the Hub rounds them, to 3 digits).
std::string human_count(uint64_t n);

}  // namespace ckd

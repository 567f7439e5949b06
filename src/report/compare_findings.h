// compare as a gate in the scan's report formats (SARIF, JUnit, GitHub, GitLab, Markdown, -q):
// its verdicts as findings of the roundtrip-error rule. A module over its limit or decoding to
// NaN/Inf is a finding at the rule's severity; a module that could not be decoded or measured,
// and a compare that measured nothing, are errors whatever the rule's severity (a gate never
// passes what it could not check); a module without a source tensor is an info (listed, as the
// text report lists it, not a failure).
#pragma once

#include <optional>

#include "compare/compare.h"
#include "scan/scan.h"

namespace ckd {

ScanReport compare_findings(const CompareReport& compare, const Rule& roundtrip_rule,
                            std::optional<Severity> fail_on);

}  // namespace ckd

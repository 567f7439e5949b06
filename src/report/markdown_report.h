// --format markdown: a report for a pull-request comment, a step summary or a model card. A
// summary table first (counts, the gate), then the findings grouped by rule (the rule's summary,
// the first findings listed, the rest in a collapsed <details>), the engine verdicts, the rules
// that did not run and, with --baseline, what it accepted. GitHub-flavoured Markdown: text from
// the checkpoint is escaped (markdown_text), so a hostile tensor name cannot inject markup.
#pragma once

#include <ostream>

#include "compare/compare.h"
#include "scan/scan.h"

namespace ckd {

void write_markdown_report(std::ostream& out, const ScanReport& report);

// compare: the measurement per format (and per layer, collapsed) above the same findings
// sections, `findings` being compare_findings() of the same report.
void write_compare_markdown(std::ostream& out, const CompareReport& compare,
                            const ScanReport& findings);

}  // namespace ckd

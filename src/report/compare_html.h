// `ckptdoctor compare --html FILE`: one self-contained page (inline CSS, SVG and a few lines of
// script to sort a table; nothing fetched): a layer x module-type heatmap whose cells carry their
// error as text (it survives a screenshot or a print) with a legend of colours and values, a
// histogram per format, a per-layer table, the table of failures, and every module in a sortable
// table. Tested in headless Chromium (tests/compare_html_browser.sh).
#pragma once

#include <ostream>
#include <string>

#include "compare/compare.h"

namespace ckd {

void write_compare_html(std::ostream& out, const CompareReport& r);

// "mlp.experts.*.gate_proj" for "model.layers.3.mlp.experts.17.gate_proj": the module's path
// after its layer, expert indices folded; the whole path for modules outside the layers.
std::string module_type(const std::string& module);

// Heatmap column order: a transformer block's order (attention q, k, v, o, then the MLP's gate,
// up, down, shared experts, routed experts), names outside it after, alphabetically.
bool module_type_before(const std::string& a, const std::string& b);

// The histogram bin of a relative error: `bins` bins over [0, 2 x limit), then bin `bins` for
// everything beyond (and NaN).
int histogram_bin(double rel_error, double limit, int bins);

}  // namespace ckd

// `ckptdoctor compare --html FILE`: one self-contained page (inline SVG and CSS, no script, no
// network): a layer x module-type heatmap of relative error against each module's limit, a
// histogram per format, and the table of failures and unpaired modules.
#pragma once

#include <ostream>
#include <string>

#include "compare/compare.h"

namespace ckd {

void write_compare_html(std::ostream& out, const CompareReport& r);

// "mlp.experts.*.gate_proj" for "model.layers.3.mlp.experts.17.gate_proj": the module's path
// after its layer, expert indices folded; the whole path for modules outside the layers.
std::string module_type(const std::string& module);

// The histogram bin of a relative error: `bins` bins over [0, 2 x limit), then bin `bins` for
// everything beyond (and NaN).
int histogram_bin(double rel_error, double limit, int bins);

}  // namespace ckd

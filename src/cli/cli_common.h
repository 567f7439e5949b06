// Small helpers the command files share: comma lists, colour and terminal width decisions.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace ckd::cli {


// --color auto|always|never, honouring NO_COLOR and FORCE_COLOR, on stdout.
bool use_color(const std::string& mode);

// Columns to wrap text output at: the terminal's width when stdout is one (COLUMNS wins over
// the ioctl), else 0 (no wrapping: pipes, files and CI logs get one line per finding).
size_t terminal_width();

}  // namespace ckd::cli

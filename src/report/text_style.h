// Pieces every human-readable reporter shares: colours, byte sizes, escaping of names that
// come from untrusted files.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "rules/finding.h"

namespace ckd {

struct Palette {
  bool on;
  std::string paint(const std::string& s, const char* code) const {
    return on ? fmt::format("\033[{}m{}\033[0m", code, s) : s;
  }
  std::string severity(Severity sev) const {
    const char* code = sev == Severity::kError     ? "1;31"
                       : sev == Severity::kWarning ? "1;33"
                                                   : "1;34";
    return paint(severity_name(sev), code);
  }
  std::string dim(const std::string& s) const { return paint(s, "2"); }
  std::string bold(const std::string& s) const { return paint(s, "1"); }
};

// `s` with each listed character replaced by its text (the escapers of the output formats).
std::string replace_chars(std::string_view s,
                          std::initializer_list<std::pair<char, std::string_view>> replacements);

// "1 error", "2 errors" (plural: the singular + "s" unless given).
std::string count_of(uint64_t n, std::string_view singular, std::string_view plural = {});

// `text` (plain: no colour escapes) broken at spaces into lines of at most `width` columns, the
// continuation lines indented by `indent` spaces; unchanged when width is 0 or it fits.
std::string wrap_text(std::string_view text, size_t width, size_t indent);

// "1.5 GiB"
std::string human_bytes(uint64_t bytes);

// Names and messages carry bytes from the checkpoint: escape control characters so a hostile
// file cannot forge report lines (or terminal escapes) in a CI log.
std::string printable(std::string_view s);

}  // namespace ckd

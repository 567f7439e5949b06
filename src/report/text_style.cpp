#include "report/text_style.h"

#include <algorithm>

namespace ckd {

std::string replace_chars(std::string_view s,
                          std::initializer_list<std::pair<char, std::string_view>> replacements) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto it = std::find_if(replacements.begin(), replacements.end(),
                           [c](const auto& r) { return r.first == c; });
    if (it == replacements.end()) {
      out += c;
    } else {
      out += it->second;
    }
  }
  return out;
}

std::string count_of(uint64_t n, std::string_view singular, std::string_view plural) {
  if (n == 1) return fmt::format("1 {}", singular);
  if (plural.empty()) return fmt::format("{} {}s", n, singular);
  return fmt::format("{} {}", n, plural);
}

namespace {

// Terminal columns of plain text: one per UTF-8 code point (continuation bytes take none).
size_t columns(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

std::string wrap_text(std::string_view text, size_t width, size_t indent) {
  if (width == 0 || columns(text) <= width) return std::string(text);
  size_t lead = text.find_first_not_of(' ');
  if (lead == std::string_view::npos) return std::string(text);
  std::string out(text.substr(0, lead));
  size_t used = lead;
  bool line_has_word = false;
  const std::string continuation = "\n" + std::string(indent, ' ');
  for (size_t at = lead; at < text.size();) {
    size_t end = text.find(' ', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(at, end - at);
    size_t w = columns(word);
    if (line_has_word && used + 1 + w > width) {
      out += continuation;  // a word never splits: one longer than a line overflows it alone
      used = indent;
    } else if (line_has_word) {
      out += ' ';
      ++used;
    }
    out += word;
    used += w;
    line_has_word = true;
    at = text.find_first_not_of(' ', end);
    if (at == std::string_view::npos) break;
  }
  return out;
}

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace ckd

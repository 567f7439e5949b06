#include "rules/checks/architecture_groups.h"

#include <cctype>

#include <fmt/format.h>

namespace ckd {

std::string name_pattern(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  size_t i = 0;
  while (i < name.size()) {
    bool segment_start = i == 0 || name[i - 1] == '.';
    size_t j = i;
    while (j < name.size() && std::isdigit(static_cast<unsigned char>(name[j]))) ++j;
    if (segment_start && j > i && (j == name.size() || name[j] == '.')) {
      out += 'N';
      i = j;
    } else {
      out += name[i++];
    }
  }
  return out;
}

void NameGrouper::add(std::string_view name, const std::string& extra) {
  std::string pattern = name_pattern(name);
  std::string key = extra.empty() ? pattern : pattern + "\n" + extra;
  auto [it, inserted] = index_.emplace(key, groups_.size());
  if (inserted) groups_.push_back({pattern, key, 0, {}});
  NameGroup& g = groups_[it->second];
  ++g.count;
  if (g.examples.size() < 3) g.examples.emplace_back(name);
}

std::string examples_of(const NameGroup& g, size_t count) {
  std::vector<std::string> shown(g.examples.begin(),
                                 g.examples.begin() + static_cast<long>(std::min(count, g.examples.size())));
  return fmt::format("e.g. {}", fmt::join(shown, ", "));
}

}  // namespace ckd

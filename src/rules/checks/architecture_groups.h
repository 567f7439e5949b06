// Grouping for the architecture rules: tensor names that differ only in layer / expert numbers
// collapse to one pattern ("model.layers.N.self_attn.o_proj.weight"), so a defect repeated in
// every layer is one finding with a count, not one per layer.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ckd {

// "model.layers.31.mlp.experts.7.down_proj.weight" -> "model.layers.N.mlp.experts.N.down_proj.weight"
std::string name_pattern(std::string_view name);

struct NameGroup {
  std::string pattern;
  std::string key;  // pattern plus whatever else the caller grouped by
  size_t count = 0;
  std::vector<std::string> examples;  // the first few names
};

// Groups `names` (with an extra key per name, may be empty) in first-seen order of their keys.
class NameGrouper {
 public:
  void add(std::string_view name, const std::string& extra = "");
  const std::vector<NameGroup>& groups() const { return groups_; }

 private:
  std::vector<NameGroup> groups_;
  std::map<std::string, size_t> index_;
};

// "(e.g. a, b, c)" from a group's examples.
std::string examples_of(const NameGroup& g, size_t count);

}  // namespace ckd

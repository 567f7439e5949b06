// What diff's text and Markdown reporters share: how lists are grouped and values printed.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "diff/checkpoint_diff.h"

namespace ckd::diff_detail {

std::string shape_text(std::span<const uint64_t> shape);
// Compact JSON of a config value, cut to a readable width; "(absent)" for null.
std::string value_text(const nlohmann::json& v);
// "BF16 [o, i] -> U8 [o, i/2]"
std::string change_text(const TensorChange& c);
// Names grouped by their parameter ("weight_scale"), so thousands of scales read as one line.
std::map<std::string, std::vector<std::string>> by_param(const std::vector<std::string>& names);
// Changes grouped by what changed ("BF16 -> F8_E4M3", "BF16 shape").
std::map<std::string, std::vector<const TensorChange*>> by_kind(
    const std::vector<TensorChange>& changes);
std::string file_facts(const std::optional<FileFacts>& f);
// How many of n entries a list shows under --limit (0: all).
size_t shown(size_t n, size_t limit);

}  // namespace ckd::diff_detail

// nlohmann::json parsing of untrusted files with a nesting cap: the parser itself is iterative,
// but code that walks or prints the result recurses, so absurd nesting is refused up front.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "io/byte_source.h"

namespace ckd {

inline constexpr int kMaxJsonDepth = 256;

// Parses `text`; throws IoError for nesting deeper than kMaxJsonDepth and nlohmann's
// parse_error for bad JSON. `skip_top_level_key`, when given, is dropped unparsed into memory
// (the 60k-entry weight_map when only an index's metadata is wanted).
template <typename Json = nlohmann::json>
Json parse_json_capped(std::string_view text, std::string_view skip_top_level_key = {}) {
  auto callback = [skip_top_level_key](int depth, typename Json::parse_event_t event,
                                       Json& parsed) {
    if (depth > kMaxJsonDepth) throw IoError("JSON nesting deeper than 256 levels");
    if (!skip_top_level_key.empty() && depth == 1 && event == Json::parse_event_t::key &&
        parsed == skip_top_level_key)
      return false;
    return true;
  };
  return Json::parse(text, callback);
}

}  // namespace ckd

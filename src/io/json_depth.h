// nlohmann::json parsing of untrusted files with a nesting cap: the parser itself is iterative,
// but code that walks or prints the result recurses, so absurd nesting is refused up front.
//
// The document is built by a SAX handler of our own, in time linear in the input. nlohmann's
// callback parser (Json::parse with a parser_callback_t), used before, rescans the parent
// container at every object end: quadratic in the object count (a 6.8 MB modelopt
// MIXED_PRECISION hf_quant_config.json with 47k quantized_layers took 10.8 s).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/byte_source.h"
#include "io/ordered_json_insert.h"

namespace ckd {

inline constexpr int kMaxJsonDepth = 256;

namespace json_depth_detail {

// Builds a Json value from SAX events. Containers deeper than kMaxJsonDepth throw IoError;
// the value of the top-level key `skip_key` is parsed (validated) but never stored.
template <typename Json>
class CappedDomBuilder {
 public:
  using number_integer_t = typename Json::number_integer_t;
  using number_unsigned_t = typename Json::number_unsigned_t;
  using number_float_t = typename Json::number_float_t;
  using string_t = typename Json::string_t;
  using binary_t = typename Json::binary_t;

  explicit CappedDomBuilder(std::string_view skip_key) : skip_key_(skip_key) {}

  bool null() { return put(Json(nullptr)); }
  bool boolean(bool v) { return put(Json(v)); }
  bool number_integer(number_integer_t v) { return put(Json(v)); }
  bool number_unsigned(number_unsigned_t v) { return put(Json(v)); }
  bool number_float(number_float_t v, const string_t&) { return put(Json(v)); }
  bool string(string_t& v) { return put(Json(std::move(v))); }
  bool binary(binary_t& v) { return put(Json::binary(std::move(v))); }
  bool start_object(std::size_t) { return open(Json::value_t::object); }
  bool start_array(std::size_t) { return open(Json::value_t::array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(string_t& k) {
    if (skipping_) return true;
    if (depth_ == 1 && !skip_key_.empty() && k == skip_key_) {
      skipping_ = true;  // until the value that follows is complete
      return true;
    }
    key_ = std::move(k);
    return true;
  }

  template <class Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& ex) {
    throw ex;
  }

  Json take() { return std::move(root_); }

 private:
  static constexpr bool kOrdered = std::is_same_v<Json, nlohmann::ordered_json>;

  struct Frame {
    Json* container;
    std::unique_ptr<OrderedObjectInserter> members;  // ordered_json objects only
  };

  // Stores a complete value at the current position.
  Json* insert(Json&& v) {
    if (frames_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Frame& f = frames_.back();
    if (f.container->is_array()) {
      f.container->push_back(std::move(v));
      return &f.container->back();
    }
    Json* slot;
    if constexpr (kOrdered) {
      slot = &f.members->slot(std::move(key_));
    } else {
      slot = &(*f.container)[std::move(key_)];  // std::map: logarithmic; a repeated key: last wins
    }
    *slot = std::move(v);
    return slot;
  }

  bool put(Json&& v) {
    if (skipping_) {
      if (depth_ == 1) skipping_ = false;  // the skipped value was a scalar
      return true;
    }
    insert(std::move(v));
    return true;
  }

  bool open(typename Json::value_t type) {
    if (++depth_ > kMaxJsonDepth) throw IoError("JSON nesting deeper than 256 levels");
    if (skipping_) return true;
    Json* c = insert(Json(type));
    Frame f{c, nullptr};
    if constexpr (kOrdered) {
      if (type == Json::value_t::object) f.members = std::make_unique<OrderedObjectInserter>(*c);
    }
    frames_.push_back(std::move(f));
    return true;
  }

  bool close() {
    --depth_;
    if (skipping_) {
      if (depth_ == 1) skipping_ = false;  // the skipped container is complete
      return true;
    }
    frames_.pop_back();
    return true;
  }

  std::string_view skip_key_;
  Json root_;
  std::vector<Frame> frames_;  // the open containers, outermost first
  string_t key_;               // the key of the member whose value comes next
  int depth_ = 0;              // open containers, skipped ones included
  bool skipping_ = false;
};

}  // namespace json_depth_detail

// Parses `text`; throws IoError for nesting deeper than kMaxJsonDepth and nlohmann's
// parse_error for bad JSON. `skip_top_level_key`, when given, is dropped unparsed into memory
// (the 60k-entry weight_map when only an index's metadata is wanted).
template <typename Json = nlohmann::json>
Json parse_json_capped(std::string_view text, std::string_view skip_top_level_key = {}) {
  json_depth_detail::CappedDomBuilder<Json> builder(skip_top_level_key);
  Json::sax_parse(text, &builder);
  return builder.take();
}

}  // namespace ckd

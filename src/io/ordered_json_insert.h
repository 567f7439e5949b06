// Member insertion into an nlohmann::ordered_json object in expected constant time per key.
// ordered_map's own emplace / operator[] search every key linearly, so building an object of
// n keys costs O(n^2) (a 47k-entry quantized_layers object took seconds).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

namespace ckd {

class OrderedObjectInserter {
 public:
  // `object` must be an object; it must not be modified except through this inserter while
  // the inserter is in use.
  explicit OrderedObjectInserter(nlohmann::ordered_json& object)
      : members_(&static_cast<Container&>(object.get_ref<nlohmann::ordered_json::object_t&>())) {
    for (size_t i = 0; i < members_->size(); ++i) index(i);
  }

  // The value stored under `key`, created null at the end when new. A repeated key keeps its
  // first position and the last value written, as operator[] does.
  nlohmann::ordered_json& slot(std::string key) {
    size_t hash = std::hash<std::string_view>{}(key);
    auto [first, last] = by_hash_.equal_range(hash);
    for (auto it = first; it != last; ++it) {
      if ((*members_)[it->second].first == key) return (*members_)[it->second].second;
    }
    members_->emplace_back(std::move(key), nullptr);
    by_hash_.emplace(hash, members_->size() - 1);
    return members_->back().second;
  }

 private:
  using Container = nlohmann::ordered_json::object_t::Container;

  void index(size_t i) {
    by_hash_.emplace(std::hash<std::string_view>{}((*members_)[i].first), i);
  }

  nlohmann::ordered_json::object_t::Container* members_;  // the vector under ordered_map
  std::unordered_multimap<size_t, size_t> by_hash_;  // hash of a key -> its position
};

}  // namespace ckd

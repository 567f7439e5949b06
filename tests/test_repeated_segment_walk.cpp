// repeated-prefix's walk over names: resuming where a name departs from the previous one gives
// what a walk of each name from its start gives, for sorted names (how the rule calls it) and
// for any other order.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "rules/checks/util.h"

namespace {

const std::vector<std::string> kWrappers = {"language_model", "model", "visual", "x"};

// The rule's walk before it resumed: every segment pair from the start.
ckd::RepeatedSegmentWalk::Hit reference(std::string_view name) {
  std::string_view rest = name, previous;
  bool have_previous = false;
  while (!rest.empty()) {
    size_t dot = rest.find('.');
    std::string_view segment = rest.substr(0, dot);
    rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
    if (have_previous && segment == previous &&
        std::find(kWrappers.begin(), kWrappers.end(), segment) != kWrappers.end()) {
      size_t run = 2;
      std::string_view tail = rest;
      while (!tail.empty() && tail.substr(0, tail.find('.')) == segment) {
        ++run;
        size_t next = tail.find('.');
        tail = next == std::string_view::npos ? std::string_view() : tail.substr(next + 1);
      }
      return {segment, run};
    }
    previous = segment;
    have_previous = true;
  }
  return {};
}

}  // namespace

TEST_CASE("repeated-segment walk: resumed walks agree with a walk of each name from its start") {
  std::mt19937 rng(11);
  const std::vector<std::string> pool = {
      "model", "language_model", "layers", "0",      "1",  "mlp",
      "x",     "visual",         "",       "weight", "xx", "mode"};
  std::vector<std::string> names = {"",
                                    ".",
                                    "x.x",
                                    "x.x.",
                                    "x.x.x",
                                    "x.x.xx",
                                    "x.xx",
                                    "a..b",
                                    "model.model.model.layers.0",
                                    "model.model.layers",
                                    "model.language_model.language_model.layers.0.mlp.weight"};
  for (int i = 0; i < 4000; ++i) {
    std::string name;
    const int segments = 1 + static_cast<int>(rng() % 8);
    for (int s = 0; s < segments; ++s) {
      if (s) name += '.';
      name += pool[rng() % pool.size()];
    }
    if (rng() % 10 == 0) name += '.';
    names.push_back(name);
  }
  std::vector<std::vector<std::string>> orders = {names, names, names};
  std::sort(orders[0].begin(), orders[0].end());
  std::sort(orders[1].rbegin(), orders[1].rend());
  size_t hits = 0;
  for (const auto& order : orders) {
    ckd::RepeatedSegmentWalk walk(kWrappers);
    for (const std::string& name : order) {
      CAPTURE(name);
      const auto want = reference(name);
      const auto got = walk.next(name);
      CHECK(got.run == want.run);
      CHECK(got.segment == want.segment);
      if (want.run) {
        // The same bytes of the name, not an equal text elsewhere.
        CHECK(got.segment.data() == want.segment.data());
        ++hits;
      }
    }
  }
  CHECK(hits > 1000);
}

// The one table of check kinds. Adding a check: write checks/<kind>.cpp with a factory,
// declare it below in registry.cpp's table, bind it to a rule in rules/*.json, add fixtures.
#pragma once

#include <memory>
#include <string_view>

namespace ckd {

class Check;

bool check_kind_exists(std::string_view kind);
std::unique_ptr<Check> make_check(std::string_view kind);

}  // namespace ckd

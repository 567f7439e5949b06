// Rules are data (rules/*.json): a stable code and name bound to a check kind, its parameters,
// tensor selectors (re2), a default severity, a fix applicability and docs.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rules/finding.h"

namespace re2 {
class RE2;
}

namespace ckd {

enum class FixApplicability { kNone, kSafe, kUnsafe, kDisplayOnly };
const char* fix_applicability_name(FixApplicability f);

struct RuleDocs {
  std::string summary;  // one line, used everywhere
  std::string why;
  std::string example;
  std::string fix;
};

struct Rule {
  std::string code;
  std::string name;
  std::string check;   // check kind in the registry
  std::string family;  // container, index, quantization, keys, scales, data, roundtrip
  std::string tier;    // header, scales, data
  Severity severity = Severity::kError;
  FixApplicability fix = FixApplicability::kNone;
  nlohmann::json params = nlohmann::json::object();
  std::vector<std::shared_ptr<re2::RE2>> include_tensors;  // a finding's tensor must match one
  std::vector<std::shared_ptr<re2::RE2>> exclude_tensors;  // and none of these
  RuleDocs docs;
  std::string origin;  // file the rule came from

  bool selects_tensor(std::string_view tensor) const;
};

class RuleSet {
 public:
  // The rules built into the binary (rules/*.json at build time).
  static RuleSet builtin();
  // Adds rules from a JSON document; throws std::runtime_error naming `origin` on bad input.
  void add_json(std::string_view text, const std::string& origin);
  const std::vector<Rule>& rules() const { return rules_; }
  const Rule* find(std::string_view name_or_code) const;
  // For project settings that override a rule's severity or options.
  Rule* find_mutable(std::string_view name_or_code);

 private:
  std::vector<Rule> rules_;
};

// The family of a code: CKD1xx container, 2xx index, 3xx quantization, 4xx keys, 5xx scales,
// 6xx data, 7xx roundtrip.
std::string family_of_code(std::string_view code);

}  // namespace ckd

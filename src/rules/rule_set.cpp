#include "rules/rule_set.h"

#include <utility>

#include <stdexcept>

#include <fmt/format.h>
#include <re2/re2.h>

#include "rules/registry.h"

namespace ckd {

const std::vector<std::pair<std::string_view, std::string_view>>& embedded_rule_files();

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kError:
      return "error";
  }
  return "?";
}

std::optional<Severity> parse_severity(std::string_view s) {
  if (s == "info") return Severity::kInfo;
  if (s == "warning") return Severity::kWarning;
  if (s == "error") return Severity::kError;
  return std::nullopt;
}

const char* fix_applicability_name(FixApplicability f) {
  switch (f) {
    case FixApplicability::kNone:
      return "none";
    case FixApplicability::kSafe:
      return "safe";
    case FixApplicability::kUnsafe:
      return "unsafe";
    case FixApplicability::kDisplayOnly:
      return "display-only";
  }
  return "?";
}

std::string family_of_code(std::string_view code) {
  if (code.size() != 6 || code.substr(0, 3) != "CKD") return "";
  switch (code[3]) {
    case '1':
      return "container";
    case '2':
      return "index";
    case '3':
      return "quantization";
    case '4':
      return "keys";
    case '5':
      return "scales";
    case '6':
      return "data";
    case '7':
      return "roundtrip";
    case '8':
      return "architecture";
    default:
      return "";
  }
}

bool Rule::selects_tensor(std::string_view tensor) const {
  if (tensor.empty()) return true;
  if (!include_tensors.empty()) {
    bool any = false;
    for (const auto& re : include_tensors) any = any || RE2::PartialMatch(tensor, *re);
    if (!any) return false;
  }
  for (const auto& re : exclude_tensors) {
    if (RE2::PartialMatch(tensor, *re)) return false;
  }
  return true;
}

RuleSet RuleSet::builtin() {
  RuleSet set;
  for (const auto& [name, text] : embedded_rule_files())
    // Not "rules/NAME": an installed binary (a wheel) has no source tree to point into.
    set.add_json(text, fmt::format("the built-in rules ({})", name));
  return set;
}

namespace {

// CKD[1-8][0-9]{2}: the family digit, then the rule's number.
bool is_rule_code(std::string_view code) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return code.size() == 6 && code.starts_with("CKD") && code[3] >= '1' && code[3] <= '8' &&
         digit(code[4]) && digit(code[5]);
}

// [a-z0-9]+(-[a-z0-9]+)*: lower-case words joined by single hyphens.
bool is_kebab_name(std::string_view name) {
  if (name.empty() || name.front() == '-' || name.back() == '-') return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '-' ? name[i - 1] == '-' : !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
      return false;
  }
  return true;
}

std::string required_string(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j[key].is_string() || j[key].get<std::string>().empty()) {
    throw std::runtime_error(fmt::format("{}: missing string \"{}\"", where, key));
  }
  return j[key].get<std::string>();
}

std::vector<std::shared_ptr<re2::RE2>> regex_list(const nlohmann::json& j,
                                                  const std::string& where) {
  std::vector<std::shared_ptr<re2::RE2>> out;
  if (j.is_null()) return out;
  if (!j.is_array())
    throw std::runtime_error(fmt::format("{}: selectors must be a list of regexes", where));
  for (const auto& e : j) {
    auto re = std::make_shared<re2::RE2>(e.get<std::string>(), RE2::Quiet);
    if (!re->ok()) {
      throw std::runtime_error(
          fmt::format("{}: bad regex \"{}\": {}", where, e.get<std::string>(), re->error()));
    }
    out.push_back(re);
  }
  return out;
}

}  // namespace

void RuleSet::add_json(std::string_view text, const std::string& origin) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: not valid JSON: {}", origin, e.what()));
  }
  if (!doc.contains("rules") || !doc["rules"].is_array()) {
    throw std::runtime_error(fmt::format("{}: expected {{\"rules\": [...]}}", origin));
  }
  for (const auto& j : doc["rules"]) {
    Rule r;
    std::string where = fmt::format("{}: rule {}", origin, j.value("name", std::string("?")));
    r.code = required_string(j, "code", where);
    r.name = required_string(j, "name", where);
    r.check = required_string(j, "check", where);
    if (!is_rule_code(r.code))
      throw std::runtime_error(fmt::format("{}: bad code \"{}\"", where, r.code));
    if (!is_kebab_name(r.name))
      throw std::runtime_error(fmt::format("{}: bad name", where));
    if (find(r.code) || find(r.name)) {
      throw std::runtime_error(
          fmt::format("{}: code {} or name {} already defined", where, r.code, r.name));
    }
    r.family = family_of_code(r.code);
    r.tier = j.value("tier", std::string("header"));
    if (r.tier != "header" && r.tier != "scales" && r.tier != "data" && r.tier != "compare") {
      throw std::runtime_error(
          fmt::format("{}: tier must be header, scales, data or compare", where));
    }
    // Compare-tier rules are evaluated by `ckptdoctor compare` (src/compare/), not by a check.
    bool known = r.tier == "compare" ? r.check == "roundtrip-error" : check_kind_exists(r.check);
    if (!known) {
      throw std::runtime_error(fmt::format("{}: unknown check kind \"{}\"", where, r.check));
    }
    auto sev = parse_severity(required_string(j, "severity", where));
    if (!sev)
      throw std::runtime_error(fmt::format("{}: severity must be error, warning or info", where));
    r.severity = *sev;
    std::string fix = j.value("fix", std::string("none"));
    if (fix == "none")
      r.fix = FixApplicability::kNone;
    else if (fix == "safe")
      r.fix = FixApplicability::kSafe;
    else if (fix == "unsafe")
      r.fix = FixApplicability::kUnsafe;
    else if (fix == "display-only")
      r.fix = FixApplicability::kDisplayOnly;
    else
      throw std::runtime_error(
          fmt::format("{}: fix must be none, safe, unsafe or display-only", where));
    if (j.contains("params")) r.params = j["params"];
    if (j.contains("tensors")) {
      r.include_tensors = regex_list(j["tensors"].value("include", nlohmann::json()), where);
      r.exclude_tensors = regex_list(j["tensors"].value("exclude", nlohmann::json()), where);
    }
    const nlohmann::json docs = j.value("docs", nlohmann::json::object());
    r.docs.summary = required_string(docs, "summary", where + " docs");
    r.docs.why = docs.value("why", "");
    r.docs.example = docs.value("example", "");
    r.docs.fix = docs.value("fix", "");
    r.origin = origin;
    rules_.push_back(std::move(r));
  }
}

Rule* RuleSet::find_mutable(std::string_view name_or_code) {
  return const_cast<Rule*>(std::as_const(*this).find(name_or_code));
}

const Rule* RuleSet::find(std::string_view name_or_code) const {
  for (const Rule& r : rules_) {
    if (r.name == name_or_code || r.code == name_or_code) return &r;
  }
  return nullptr;
}

}  // namespace ckd

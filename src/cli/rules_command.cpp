#include "cli/rules_command.h"

#include <algorithm>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/rule_settings.h"
#include "io/paths.h"
#include "rules/engine.h"

namespace ckd::cli {
namespace {

struct RulesArgs {
  RuleSettings rules;
  std::string name, format = "text";
};

void print_rule(const Rule& r) {
  std::cout << fmt::format("{} {} ({}, {}, fix: {})\n\n{}\n", r.code, r.name,
                           severity_name(r.severity), r.family, fix_applicability_name(r.fix),
                           r.docs.summary);
  auto section = [](const char* title, const std::string& body) {
    if (!body.empty()) std::cout << fmt::format("\n{}\n  {}\n", title, body);
  };
  section("Why is this bad?", r.docs.why);
  section("Example", r.docs.example);
  section("Fix", r.docs.fix);
  std::cout << fmt::format("\nCheck: {} (tier: {})", r.check, r.tier);
  if (!r.params.empty()) std::cout << fmt::format("\nOptions: {}", r.params.dump());
  std::cout << fmt::format("\nDefined in: {}\n", r.origin);
}

void print_list(const std::vector<const Rule*>& rules, const std::string& format) {
  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const Rule* r : rules) {
      out.push_back({{"code", r->code},
                     {"name", r->name},
                     {"family", r->family},
                     {"severity", severity_name(r->severity)},
                     {"fix", fix_applicability_name(r->fix)},
                     {"tier", r->tier},
                     {"summary", r->docs.summary}});
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::string family;
  for (const Rule* r : rules) {
    if (r->family != family) {
      family = r->family;
      std::cout << fmt::format("\n{}\n", family);
    }
    std::cout << fmt::format("  {}  {:<26} {:<8} {:<12} {}\n", r->code, r->name,
                             severity_name(r->severity),
                             std::string("fix:") + fix_applicability_name(r->fix), r->docs.summary);
  }
  std::cout
      << "\nckptdoctor rules NAME explains one rule; rules FAMILY (or CKD5) lists a family.\n";
}

int run_rules_command(const RulesArgs& a) {
  RuleSet rules = RuleSet::builtin();
  for (const std::string& path : a.rules.rule_files)
    rules.add_json(read_small_file(path, 16 << 20), path);
  std::vector<const Rule*> listed;
  if (!a.name.empty()) {
    if (const Rule* r = rules.find(a.name)) {
      if (a.format == "json") {
        print_list({r}, a.format);
      } else {
        print_rule(*r);
      }
      return kExitClean;
    }
    // A family (scales), a code prefix (CKD5) or ALL.
    for (const Rule& r : rules.rules())
      if (selector_matches(r, a.name)) listed.push_back(&r);
    if (listed.empty()) {
      std::vector<std::string> names;
      for (const Rule& r : rules.rules()) {
        names.push_back(r.name);
        if (std::find(names.begin(), names.end(), r.family) == names.end())
          names.push_back(r.family);
      }
      std::string hint = closest_name(a.name, names);
      std::cerr << fmt::format("ckptdoctor: error: no rule, code or family named {}{}\n", a.name,
                               hint.empty() ? "" : fmt::format(" (did you mean {}?)", hint));
      return kExitError;
    }
  } else {
    for (const Rule& r : rules.rules()) listed.push_back(&r);
  }
  print_list(listed, a.format);
  return kExitClean;
}

}  // namespace

Command add_rules_command(CLI::App& app) {
  auto a = std::make_shared<RulesArgs>();
  CLI::App* rules = app.add_subcommand(
      "rules", "List the rules, one family (rules scales, rules CKD5), or explain one rule");
  rules->add_option("NAME", a->name, "rule name or code, family or code prefix");
  rules->add_option("--format", a->format, "output format")->check(CLI::IsMember({"text", "json"}));
  rules->add_option("--rules", a->rules.rule_files, "add rules from a JSON file");
  Command command;
  command.app = rules;
  command.run = [a] { return run_rules_command(*a); };
  return command;
}

}  // namespace ckd::cli

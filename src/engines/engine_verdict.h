// Per engine: will this checkpoint load, and load right? Derived once per scan from the scan's
// findings and the engine's profile (ignore-list matching, fused groups, naming); it adds no
// findings of its own.
#pragma once

#include <string>
#include <vector>

#include "engines/engine_profile.h"
#include "rules/finding.h"

namespace ckd {

class Checkpoint;
struct QuantScheme;
struct ArchitectureDiff;

struct EngineReason {
  std::string rule;  // the rule whose finding, or the engine fact, gives the reason
  std::string message;
};

struct EngineVerdict {
  std::string engine;
  std::string version;
  std::string verdict;  // "loads", "fails", "misloads"
  std::vector<EngineReason> reasons;
};

// The ignore entry `how` matches `module` with ("" when none): the indexed matcher the verdicts
// use, against which tests hold ignore_entry_matches.
std::string engine_ignore_entry(const QuantScheme& scheme, IgnoreMatch how,
                                std::string_view module);

EngineVerdict engine_verdict(const EngineProfile& profile, const Checkpoint& checkpoint,
                             const ArchitectureDiff& architecture,
                             const std::vector<Finding>& findings);

}  // namespace ckd

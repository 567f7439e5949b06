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

EngineVerdict engine_verdict(const EngineProfile& profile, const Checkpoint& checkpoint,
                             const ArchitectureDiff& architecture,
                             const std::vector<Finding>& findings);

}  // namespace ckd

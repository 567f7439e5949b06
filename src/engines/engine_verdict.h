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

// What the engine's reading of the ignore list means for this checkpoint (false quantization,
// modules read as high precision, fused groups split across precisions). It needs no findings,
// so a scan computes it beside the header rules, on another core; one walk over the module table
// serves every engine. One result per profile, in order.
struct EngineIgnoreReasons {
  std::vector<EngineReason> fails, misloads;
  std::vector<std::string> kept_dense;  // modules it builds in high precision, stored quantized
};
std::vector<EngineIgnoreReasons> engine_ignore_reasons(
    const std::vector<const EngineProfile*>& profiles, const Checkpoint& checkpoint);

// The ignore entry `how` matches `module` with ("" when none): the indexed matcher the verdicts
// use, against which tests hold ignore_entry_matches.
std::string engine_ignore_entry(const QuantScheme& scheme, IgnoreMatch how,
                                std::string_view module);
// The same for module paths in the order the scan's walk meets them (the module table's:
// sorted), where siblings under one experts segment may share one lookup.
std::vector<std::string> engine_ignore_entries(const QuantScheme& scheme, IgnoreMatch how,
                                               const std::vector<std::string>& modules);

// `ignore_reasons`: engine_ignore_reasons() of the same profile and checkpoint, when already
// computed (nullptr: computed here).
EngineVerdict engine_verdict(const EngineProfile& profile, const Checkpoint& checkpoint,
                             const ArchitectureDiff& architecture,
                             const std::vector<Finding>& findings,
                             const EngineIgnoreReasons* ignore_reasons = nullptr);

}  // namespace ckd

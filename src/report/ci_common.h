// What the CI formats (SARIF, JUnit, GitHub, GitLab) share: a finding's path relative to the
// repository (the working directory), the line of a tensor in a JSON file, a stable fingerprint.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "scan/scan.h"

namespace ckd {

class FindingLocator {
 public:
  explicit FindingLocator(const ScanReport& report) : report_(report) {}

  // The finding's file relative to the working directory when it lies below it (else as given);
  // a finding about the checkpoint as a whole points at its config.json.
  std::string path(const Finding& f) const;
  // The checkpoint directory itself, the same way.
  std::string dir_path() const;
  // 1-based line of the tensor's key in a JSON file (the index), or for a finding about a shard
  // the index names, of the first weight_map entry naming it; 1 otherwise.
  int line(const Finding& f);

 private:
  const ScanReport& report_;
  std::map<std::string, std::string> texts_;  // JSON files read for line lookups
};

// 16 hex digits, the same for the same (rule, file, tensor) on every run and machine.
std::string finding_fingerprint(const Finding& f, const std::string& path);

// The one version string (--version, the man page, SARIF's semanticVersion).
const char* ckptdoctor_version();

}  // namespace ckd

// --baseline FILE: accept today's findings, fail only on new ones (the design of detekt's and
// PHPStan's baselines, and of ESLint's bulk suppressions: a reviewed file in the repository,
// matched by fingerprint and count, never by line or order).
//
//   ckptdoctor scan DIR --baseline B.json --write-baseline   records every finding, exit 0
//   ckptdoctor scan DIR --baseline B.json                    accepted ones leave the report and
//                                                            the gate; entries no longer found
//                                                            are reported as gone
//
// A fingerprint is (rule code, file, tensor, message with its numbers masked). The file is the
// path inside the checkpoint, so a copy, a download or hf:// matches the same baseline. Numbers
// are masked because they are measurements (a scale 3.1e-5, a total_size, a count of "... and 12
// more") that move when a sibling tensor is re-quantized while the defect stays the same; the
// words stay, so two different problems of one rule on one tensor are told apart. A fingerprint
// that occurs N times accepts N findings: one more is new.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "scan/scan.h"

namespace ckd {

struct BaselineEntry {
  std::string fingerprint;
  Finding finding;     // as recorded (for people reading the file, and the "gone" list)
  uint64_t count = 0;  // findings it accepts (a capped check's note counts what it stands for)
};

struct Baseline {
  std::string path;
  std::vector<BaselineEntry> entries;
};

// The message with each number (digits, a fraction, an exponent) replaced by '#'.
std::string mask_numbers(std::string_view message);

// 16 hex digits of (code, file, tensor, mask_numbers(message)).
std::string baseline_fingerprint(const Finding& f);

// Throws std::runtime_error naming the file for a missing, oversized or malformed baseline.
Baseline load_baseline(const std::string& path);

// Writes every finding of `report` (atomically) as the new baseline.
void write_baseline(const std::string& path, const ScanReport& report);

// Moves the findings the baseline accepts out of `report`, lists its unmatched entries as gone
// and recounts (count_findings): the gate then sees only new findings.
void apply_baseline(const Baseline& baseline, ScanReport& report);

}  // namespace ckd

// Many checkpoints in one call (`scan A B C`, `--from-file LIST`): a bounded number scanned at
// a time, each result handed on as soon as it completes, so a survey of thousands of
// repositories that is interrupted keeps what it did and resumes with --skip-done.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scan/scan.h"

namespace ckd {

// One location a line (a directory, a .safetensors file, hf://ORG/REPO[@REV] or a URL); blank
// lines and lines starting with '#' are skipped, surrounding spaces trimmed. Throws IoError for
// an unreadable file, a line over 4,096 bytes or more than 1,000,000 locations.
std::vector<std::string> read_location_list(const std::string& path);

// The locations a JSON Lines file of earlier results (--format jsonl) holds a finished scan of
// (exit 0 or 1). Lines that do not parse (the last one of an interrupted run) and scans that
// could not run (exit 2: a network error, say) are not done: they run again. A missing file is
// an empty set.
std::set<std::string> read_done_locations(const std::string& jsonl_path);

struct BatchResult {
  std::string location;
  std::optional<ScanReport> report;  // absent when the scan could not run
  std::string error;                 // why it could not run (exit 2)
  int exit_code() const { return report ? (report->failed ? 1 : 0) : 2; }
};

// Scans every location with `scan_one`, `jobs` at a time (memory: `jobs` scans' worth), calling
// `done` once per location, one call at a time, in completion order. An exception from one scan
// becomes that location's error; the others go on. Returns the batch's exit code: 2 when any
// scan could not run, else 1 when any failed, else 0.
int run_batch(const std::vector<std::string>& locations, int jobs,
              const std::function<ScanReport(const std::string&)>& scan_one,
              const std::function<void(BatchResult&&)>& done);

// One line of --format jsonl: the JSON report plus "exit", or {"checkpoint", "exit": 2, "error"}.
nlohmann::json batch_result_json(const BatchResult& result);

}  // namespace ckd

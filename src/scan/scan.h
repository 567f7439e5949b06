// One scan: open the checkpoint (and the --source headers), run the selected rules, and gather
// what the reporters print: findings, dtype-byte histograms and a summary.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "engines/engine_verdict.h"
#include "remote/http_client.h"
#include "rules/check.h"

namespace ckd {

// What a remote scan fetched, against what downloading the files would cost.
struct RemoteTransfer {
  uint64_t requests = 0;
  uint64_t bytes = 0;       // received: headers and bodies
  uint64_t file_bytes = 0;  // the sizes of the shards (and index) the scan read from
};

struct ScanReport {
  std::string dir;
  std::string source_dir;
  std::string scheme;  // human description of the declared quantization
  size_t files = 0;
  size_t tensors = 0;
  uint64_t tensor_bytes = 0;
  DtypeBytes checkpoint_dtypes;
  DtypeBytes target_dtypes;  // weights of the modules the declaration targets
  std::vector<Finding> findings;  // listed findings, and notes for the unlisted (Finding::omitted)
  std::vector<const Rule*> rules;  // the rules that ran (CI formats list them)
  struct NotRun {
    const Rule* rule;
    std::string reason;  // "runs only with --deep", ...
  };
  std::vector<NotRun> not_run;  // selected rules these options do not run: never a pass
  size_t errors = 0, warnings = 0, infos = 0;  // findings, the unlisted ones (omitted) included
  std::optional<Severity> fail_on;  // nullopt: never fail
  bool failed = false;
  double seconds = 0;
  std::optional<RemoteTransfer> transfer;  // remote scans (of DIR and --source together)
  std::vector<EngineVerdict> engines;      // per --engine: loads, fails or misloads
  // --baseline FILE (scan/baseline.h): the findings it accepted are left out of `findings` and
  // the counts; `gone` lists its entries no longer found (fixed: the baseline can shrink).
  struct Baselined {
    std::string file;
    uint64_t accepted = 0;
    std::vector<std::pair<Finding, uint64_t>> gone;  // recorded finding, how many are gone
  };
  std::optional<Baselined> baseline;
  // With ScanRequest::retain_tables: the checkpoint, its --source and the architecture diff.
  std::shared_ptr<const void> retained;
};

// Sets errors / warnings / infos and `failed` from `findings` and `fail_on`.
void count_findings(ScanReport& report);

struct ScanRequest {
  std::string dir;
  std::string source_dir;
  ScanOptions options;
  std::vector<const Rule*> rules;
  std::optional<Severity> fail_on = Severity::kError;
  HttpSettings http;  // for hf:// and https:// locations
  // Engines to give a verdict for (--engine); every built-in profile unless set.
  std::vector<const EngineProfile*> engines = all_engines();
  static std::vector<const EngineProfile*> all_engines() { return select_engines(engine_names()); }
  // Hands the checkpoint's tables to ScanReport::retained instead of freeing them: a process
  // that exits right after the report (the CLI, with _Exit) skips freeing some 200k small
  // objects of a 60k-tensor checkpoint, about 5% of a header scan (clang's -disable-free).
  bool retain_tables = false;
};

// DIR and --source may be directories or remote locations (hf://ORG/REPO[@REV], https://...).
// Throws IoError when a directory cannot be read or a remote one cannot be fetched (exit 2).
ScanReport run_scan(const ScanRequest& request);

std::string describe_scheme(const QuantScheme& scheme);

}  // namespace ckd

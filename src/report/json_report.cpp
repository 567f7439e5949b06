#include "report/json_report.h"

#include <nlohmann/json.hpp>

namespace ckd {

namespace {

nlohmann::json histogram(const DtypeBytes& h) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [dtype, bytes] : h.bytes) {
    out[dtype] = {
        {"bytes", bytes},
        {"share", h.total ? static_cast<double>(bytes) / static_cast<double>(h.total) : 0.0}};
  }
  return out;
}

}  // namespace

nlohmann::json finding_json(const Finding& f) {
  nlohmann::json j = {{"code", f.code}, {"name", f.name},     {"severity", severity_name(f.severity)},
                      {"file", f.file}, {"tensor", f.tensor}, {"message", f.message}};
  if (f.omitted) j["omitted"] = f.omitted;  // a note standing for this many unlisted findings
  return j;
}

nlohmann::json scan_report_json(const ScanReport& r) {
  nlohmann::json findings = nlohmann::json::array();
  nlohmann::json truncated = nlohmann::json::array();  // notes for findings a check did not list
  for (const Finding& f : r.findings) {
    if (f.omitted) {
      truncated.push_back({{"code", f.code},
                           {"name", f.name},
                           {"severity", severity_name(f.severity)},
                           {"omitted", f.omitted},
                           {"message", f.message}});
    } else {
      findings.push_back(finding_json(f));
    }
  }
  nlohmann::json not_run = nlohmann::json::array();
  for (const auto& [rule, reason] : r.not_run)
    not_run.push_back({{"code", rule->code}, {"name", rule->name}, {"reason", reason}});
  nlohmann::json doc = {
      {"version", kJsonReportVersion},
      {"checkpoint", r.dir},
      {"findings", findings},
      {"truncated", truncated},
      {"not_run", not_run},
      {"dtype_bytes",
       {{"checkpoint", histogram(r.checkpoint_dtypes)}, {"targets", histogram(r.target_dtypes)}}},
      {"summary",
       {{"errors", r.errors},
        {"warnings", r.warnings},
        {"infos", r.infos},
        {"files", r.files},
        {"tensors", r.tensors},
        {"tensor_bytes", r.tensor_bytes},
        {"quantization", r.scheme},
        {"fail_on", r.fail_on ? severity_name(*r.fail_on) : "never"},
        {"failed", r.failed},
        {"seconds", r.seconds}}},
  };
  nlohmann::json engines = nlohmann::json::array();
  for (const EngineVerdict& e : r.engines) {
    nlohmann::json reasons = nlohmann::json::array();
    for (const EngineReason& reason : e.reasons)
      reasons.push_back({{"rule", reason.rule}, {"message", reason.message}});
    engines.push_back(
        {{"engine", e.engine}, {"version", e.version}, {"verdict", e.verdict}, {"reasons", reasons}});
  }
  doc["engines"] = engines;
  if (!r.source_dir.empty()) doc["source"] = r.source_dir;
  if (r.baseline) {
    nlohmann::json gone = nlohmann::json::array();
    for (const auto& [f, count] : r.baseline->gone) {
      nlohmann::json entry = finding_json(f);
      entry["count"] = count;
      gone.push_back(entry);
    }
    doc["baseline"] = {{"file", r.baseline->file}, {"accepted", r.baseline->accepted}, {"gone", gone}};
  }
  if (r.transfer) {
    doc["transfer"] = {{"requests", r.transfer->requests},
                       {"bytes", r.transfer->bytes},
                       {"file_bytes", r.transfer->file_bytes}};
  }
  return doc;
}

void write_json_report(std::ostream& out, const ScanReport& r) {
  // Messages can carry bytes from the file (names are validated UTF-8, but be safe).
  out << scan_report_json(r).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace ckd

// ckptdoctor.scan(): the scan command in process. The report is the one the CLI prints (the same
// ScanReport, the same writers for render()), handed to Python as plain objects.
#include <filesystem>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include "python/bindings.h"
#include "remote/remote_store.h"
#include "report/github_report.h"
#include "report/gitlab_report.h"
#include "report/json_report.h"
#include "report/junit_report.h"
#include "report/sarif_report.h"
#include "report/text_report.h"
#include "rules/engine.h"
#include "scan/scan.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace ckd::python {

namespace {

// A finding with its rule's fix applicability, which the CLI shows beside the rule.
struct PyFinding {
  std::string code, name, severity, file, tensor, message, fix;
  uint64_t omitted = 0;
};

struct PyNotRun {
  std::string code, name, reason;
};

// The report keeps pointers to the rules it ran: the rule set lives as long as the report.
struct PyScanReport {
  std::shared_ptr<const RuleSet> rule_set;
  ScanReport report;
  std::vector<PyFinding> findings;   // listed findings
  std::vector<PyFinding> truncated;  // notes standing for findings a capped check did not list
  std::vector<PyNotRun> not_run;
};

std::map<std::string, uint64_t> dtype_bytes(const DtypeBytes& h) { return h.bytes; }

PyFinding to_python(const Finding& f, const RuleSet& rules) {
  const Rule* rule = rules.find(f.code);
  return PyFinding{f.code,      f.name,    severity_name(f.severity),
                   f.file,      f.tensor,  f.message,
                   rule ? fix_applicability_name(rule->fix) : "none", f.omitted};
}

std::string render(const PyScanReport& r, const std::string& format) {
  std::ostringstream out;
  if (format == "text") {
    write_text_report(out, r.report, TextStyle{false, false, 0});
  } else if (format == "json") {
    write_json_report(out, r.report);
  } else if (format == "sarif") {
    write_sarif_report(out, r.report);
  } else if (format == "junit") {
    write_junit_report(out, r.report);
  } else if (format == "gitlab") {
    write_gitlab_report(out, r.report);
  } else if (format == "github") {
    write_github_report(out, r.report);
  } else {
    throw nb::value_error(
        fmt::format("unknown format {}; formats: text, json, sarif, junit, github, gitlab", format)
            .c_str());
  }
  return out.str();
}

struct ScanArguments {
  std::string path;
  std::optional<std::vector<std::string>> select, ignore, engines;
  bool deep = false;
  std::optional<std::string> source, fail_on, config;
  bool use_config = true;
  std::vector<std::string> rules;
  int threads = 0;
  std::optional<double> timeout, deadline;
  std::optional<int> retries;
};

// Everything here runs without the GIL: no Python object is touched.
std::unique_ptr<PyScanReport> run(const ScanArguments& a) {
  RuleSettings settings = load_rule_settings(a.path, a.config, a.use_config, a.rules);
  const std::optional<ProjectConfig>& config = settings.config;
  auto result = std::make_unique<PyScanReport>();
  auto rule_set = std::make_shared<RuleSet>(std::move(settings.rules));
  result->rule_set = rule_set;

  std::vector<std::string> select = a.select ? *a.select : std::vector<std::string>{};
  std::vector<std::string> ignore = a.ignore ? *a.ignore : std::vector<std::string>{};
  std::string fail_on = a.fail_on.value_or("error");
  std::string source = a.source.value_or("");
  if (config) {  // the caller's arguments win over the project settings, as on the command line
    if (!a.select) select = config->select;
    if (!a.ignore) ignore = config->ignore;
    if (!a.fail_on && config->fail_on) fail_on = *config->fail_on;
    if (!a.source && config->source) source = *config->source;
  }
  ScanRequest request;
  request.dir = a.path;
  request.source_dir = source;
  request.options.deep = a.deep;
  request.options.threads = a.threads;
  request.options.progress = false;  // stderr belongs to the host program
  if (a.timeout) request.http.stall_timeout_s = *a.timeout;
  if (a.deadline) request.http.deadline_s = *a.deadline;
  if (a.retries) request.http.retries = *a.retries;
  request.rules = select_rules(*rule_set, split_commas(select), split_commas(ignore));
  if (a.engines) request.engines = select_engines(split_commas(*a.engines));
  if (fail_on == "never") {
    request.fail_on = std::nullopt;
  } else if (auto severity = parse_severity(fail_on)) {
    request.fail_on = severity;
  } else {  // a project setting (the caller's argument was checked before)
    throw std::runtime_error(
        fmt::format("fail_on must be error, warning, info or never, not {}", fail_on));
  }
  result->report = run_scan(request);

  for (const Finding& f : result->report.findings)
    (f.omitted ? result->truncated : result->findings).push_back(to_python(f, *rule_set));
  for (const auto& [rule, reason] : result->report.not_run)
    result->not_run.push_back(PyNotRun{rule->code, rule->name, reason});
  return result;
}

std::string path_string(const std::filesystem::path& p) { return p.string(); }

}  // namespace

void bind_scan(nb::module_& m) {
  nb::class_<PyFinding>(m, "Finding", "One problem: the rule, where, and what was found.")
      .def_ro("code", &PyFinding::code, "Rule code, CKD + 3 digits.")
      .def_ro("name", &PyFinding::name, "Rule name (kebab-case).")
      .def_ro("severity", &PyFinding::severity, "'error', 'warning' or 'info'.")
      .def_ro("file", &PyFinding::file,
              "File relative to the checkpoint directory; empty for the checkpoint itself.")
      .def_ro("tensor", &PyFinding::tensor, "Tensor name; empty when not about one tensor.")
      .def_ro("message", &PyFinding::message, "One line naming the value and the bound.")
      .def_ro("fix", &PyFinding::fix,
              "The rule's fix: 'safe', 'unsafe', 'display-only' or 'none' (see ckptdoctor fix).")
      .def_ro("omitted", &PyFinding::omitted,
              "For a note in ScanReport.truncated: how many findings it stands for; else 0.")
      .def("__repr__", [](const PyFinding& f) {
        std::string where = f.file;
        if (!f.tensor.empty()) where += (where.empty() ? "" : ":") + f.tensor;
        return fmt::format("<Finding {} {} {}{}: {}>", f.code, f.name, f.severity,
                           where.empty() ? "" : " " + where, f.message);
      });

  nb::class_<PyNotRun>(m, "NotRun", "A selected rule these options did not run (never a pass).")
      .def_ro("code", &PyNotRun::code)
      .def_ro("name", &PyNotRun::name)
      .def_ro("reason", &PyNotRun::reason)
      .def("__repr__", [](const PyNotRun& n) {
        return fmt::format("<NotRun {} {}: {}>", n.code, n.name, n.reason);
      });

  nb::class_<EngineReason>(m, "EngineReason", "Why an engine fails or misloads the checkpoint.")
      .def_ro("rule", &EngineReason::rule, "The rule whose finding, or the engine fact, it is.")
      .def_ro("message", &EngineReason::message)
      .def("__repr__", [](const EngineReason& r) {
        return fmt::format("<EngineReason {}: {}>", r.rule, r.message);
      });

  nb::class_<EngineVerdict>(m, "EngineVerdict", "Will this engine load the checkpoint, and right?")
      .def_ro("engine", &EngineVerdict::engine, "'vllm', 'sglang' or 'transformers'.")
      .def_ro("version", &EngineVerdict::version, "The engine version its facts were read at.")
      .def_ro("verdict", &EngineVerdict::verdict, "'loads', 'fails' or 'misloads'.")
      .def_ro("reasons", &EngineVerdict::reasons)
      .def("__repr__", [](const EngineVerdict& v) {
        return fmt::format("<EngineVerdict {} {}: {}>", v.engine, v.version, v.verdict);
      });

  nb::class_<RemoteTransfer>(m, "RemoteTransfer", "What a remote scan fetched.")
      .def_ro("requests", &RemoteTransfer::requests)
      .def_ro("bytes", &RemoteTransfer::bytes, "Received, headers and bodies.")
      .def_ro("file_bytes", &RemoteTransfer::file_bytes,
              "The sizes of the files the scan read from (what downloading them would cost).");

  nb::class_<PyScanReport>(m, "ScanReport",
                           "What ckptdoctor scan reports: findings, engine verdicts, counts.")
      .def_prop_ro("checkpoint", [](const PyScanReport& r) { return r.report.dir; })
      .def_prop_ro("source",
                   [](const PyScanReport& r) -> std::optional<std::string> {
                     if (r.report.source_dir.empty()) return std::nullopt;
                     return r.report.source_dir;
                   })
      .def_ro("findings", &PyScanReport::findings,
              "Findings, errors first, then by code, file and tensor.")
      .def_ro("truncated", &PyScanReport::truncated,
              "Notes standing for findings a capped check did not list (Finding.omitted).")
      .def_ro("not_run", &PyScanReport::not_run)
      .def_prop_ro("engines", [](const PyScanReport& r) { return r.report.engines; },
                   "Per engine: loads, fails or misloads.")
      .def_prop_ro("errors", [](const PyScanReport& r) { return r.report.errors; },
                   "Errors, the unlisted ones (truncated) included.")
      .def_prop_ro("warnings", [](const PyScanReport& r) { return r.report.warnings; })
      .def_prop_ro("infos", [](const PyScanReport& r) { return r.report.infos; })
      .def_prop_ro("files", [](const PyScanReport& r) { return r.report.files; })
      .def_prop_ro("tensors", [](const PyScanReport& r) { return r.report.tensors; })
      .def_prop_ro("tensor_bytes", [](const PyScanReport& r) { return r.report.tensor_bytes; })
      .def_prop_ro("quantization", [](const PyScanReport& r) { return r.report.scheme; },
                   "The declared quantization, described.")
      .def_prop_ro("dtype_bytes",
                   [](const PyScanReport& r) { return dtype_bytes(r.report.checkpoint_dtypes); },
                   "Bytes per dtype over every tensor.")
      .def_prop_ro("target_dtype_bytes",
                   [](const PyScanReport& r) { return dtype_bytes(r.report.target_dtypes); },
                   "Bytes per dtype over the weights the declaration targets.")
      .def_prop_ro("rules", [](const PyScanReport& r) {
                     std::vector<std::string> codes;
                     for (const Rule* rule : r.report.rules) codes.push_back(rule->code);
                     return codes;
                   },
                   "Codes of the rules that ran.")
      .def_prop_ro("fail_on",
                   [](const PyScanReport& r) -> std::string {
                     return r.report.fail_on ? severity_name(*r.report.fail_on) : "never";
                   })
      .def_prop_ro("failed", [](const PyScanReport& r) { return r.report.failed; },
                   "A finding at or above fail_on: the CLI would exit 1.")
      .def_prop_ro("seconds", [](const PyScanReport& r) { return r.report.seconds; })
      .def_prop_ro("transfer",
                   [](const PyScanReport& r) { return r.report.transfer; },
                   "Remote scans: requests and bytes fetched; None for local ones.")
      .def("render", &render, "format"_a = "text",
           "The report as the CLI writes it: 'text', 'json', 'sarif', 'junit', 'github' or "
           "'gitlab'.")
      .def("__repr__", [](const PyScanReport& r) {
        return fmt::format("<ScanReport {}: {} errors, {} warnings, {} infos{}>", r.report.dir,
                           r.report.errors, r.report.warnings, r.report.infos,
                           r.report.failed ? ", failed" : "");
      });

  m.def(
      "scan",
      [](const std::filesystem::path& path, std::optional<std::vector<std::string>> select,
         std::optional<std::vector<std::string>> ignore, bool deep,
         std::optional<std::filesystem::path> source, std::optional<std::vector<std::string>> engines,
         std::optional<std::string> fail_on, std::optional<std::filesystem::path> config,
         bool use_config, std::vector<std::filesystem::path> rules, int threads,
         std::optional<double> timeout, std::optional<double> deadline,
         std::optional<int> retries) {
        if (fail_on && *fail_on != "never" && !parse_severity(*fail_on))
          throw nb::value_error(
              fmt::format("fail_on must be 'error', 'warning', 'info' or 'never', not '{}'",
                          *fail_on).c_str());
        ScanArguments a;
        a.path = path_string(path);
        a.select = std::move(select);
        a.ignore = std::move(ignore);
        a.engines = std::move(engines);
        a.deep = deep;
        if (source) a.source = path_string(*source);
        a.fail_on = std::move(fail_on);
        if (config) a.config = path_string(*config);
        a.use_config = use_config;
        for (const auto& r : rules) a.rules.push_back(path_string(r));
        a.threads = threads;
        a.timeout = timeout;
        a.deadline = deadline;
        a.retries = retries;
        nb::gil_scoped_release release;
        return run(a);
      },
      "path"_a, nb::kw_only(), "select"_a = nb::none(), "ignore"_a = nb::none(), "deep"_a = false,
      "source"_a = nb::none(), "engines"_a = nb::none(), "fail_on"_a = nb::none(),
      "config"_a = nb::none(), "use_config"_a = true,
      "rules"_a = std::vector<std::filesystem::path>{}, "threads"_a = 0, "timeout"_a = nb::none(),
      "deadline"_a = nb::none(), "retries"_a = nb::none(),
      "Scan a checkpoint (a directory, hf://ORG/REPO[@REV] or an https://.../resolve/REV/ URL)\n"
      "and return its report, as `ckptdoctor scan` does.\n\n"
      "select / ignore: rule names, codes, code prefixes (CKD5), families or ALL.\n"
      "deep: read all tensor data (NaN/Inf, all-zero weights).\n"
      "source: the BF16 checkpoint it was made from (headers only) for key diffs.\n"
      "engines: verdicts for these engines (vllm, sglang, transformers; default all).\n"
      "fail_on: 'error' (default), 'warning', 'info' or 'never': sets ScanReport.failed.\n"
      "config: project settings file; by default PATH/ckptdoctor.json when it exists and\n"
      "use_config. Arguments given here win over the settings.\n"
      "rules: extra rule files (JSON, the shape of rules/*.json).\n"
      "threads: worker threads (0: all cores). timeout, deadline, retries: remote scans.\n\n"
      "Raises ckptdoctor.Error when the scan cannot run (unreadable checkpoint, unknown rule).");
}

}  // namespace ckd::python

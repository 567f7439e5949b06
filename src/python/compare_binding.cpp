// ckptdoctor.compare(): dequantize every quantized module and measure it against the BF16 source,
// in process, with the project settings' roundtrip-error limits as the CLI reads them.
#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "compare/compare.h"
#include "python/bindings.h"
#include "remote/remote_store.h"
#include "report/compare_html.h"
#include "report/compare_report.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace ckd::python {

namespace {

std::string render(const CompareReport& r, const std::string& format) {
  std::ostringstream out;
  if (format == "text") {
    write_compare_text(out, r, Palette{false});
  } else if (format == "json") {
    write_compare_json(out, r);
  } else if (format == "html") {
    write_compare_html(out, r);
  } else {
    throw nb::value_error(
        fmt::format("unknown format {}; formats: text, json, html", format).c_str());
  }
  return out.str();
}

// Runs without the GIL.
CompareReport run(CompareRequest request, const std::optional<std::string>& config,
                  bool use_config, const std::vector<std::string>& rule_files) {
  if (is_remote_location(request.quant_dir) || is_remote_location(request.source_dir))
    throw std::runtime_error("compare reads every weight: download the checkpoints first");
  RuleSettings settings = load_rule_settings(request.quant_dir, config, use_config, rule_files);
  request.rule = settings.rules.find("roundtrip-error");
  // The rule is only read during the run: the rule set may go when it returns.
  return run_compare(request);
}

std::string path_string(const std::filesystem::path& p) { return p.string(); }

}  // namespace

void bind_compare(nb::module_& m) {
  nb::class_<ModuleError>(m, "ModuleResult", "One quantized module measured against its source.")
      .def_ro("module", &ModuleError::module)
      .def_ro("format", &ModuleError::format, "The quantization format it was decoded as.")
      .def_ro("source", &ModuleError::source,
              "The source tensor ([expert][gate|up] for a fused slice).")
      .def_ro("elements", &ModuleError::elements)
      .def_ro("rel_error", &ModuleError::rel_error, "||W^ - W||_2 / ||W||_2 over all elements.")
      .def_ro("max_abs_error", &ModuleError::max_abs_error)
      .def_ro("nan", &ModuleError::nan, "NaN in the decoded weight.")
      .def_ro("inf", &ModuleError::inf, "Inf in the decoded weight.")
      .def_ro("source_nan", &ModuleError::source_nan, "NaN in the source (left out, a failure).")
      .def_ro("source_inf", &ModuleError::source_inf, "Inf in the source (left out, a failure).")
      .def_ro("limit", &ModuleError::limit, "The roundtrip-error limit for its format.")
      .def_ro("passed", &ModuleError::passed)
      .def("__repr__", [](const ModuleError& e) {
        return fmt::format("<ModuleResult {} {} rel_error={:.4g} limit={:.4g} {}>", e.module,
                           e.format, e.rel_error, e.limit, e.passed ? "passed" : "failed");
      });

  nb::class_<UnpairedModule>(m, "UnpairedModule",
                             "A module left out: no source tensor (unpaired) or not decodable.")
      .def_ro("module", &UnpairedModule::module)
      .def_ro("reason", &UnpairedModule::reason)
      .def("__repr__", [](const UnpairedModule& u) {
        return fmt::format("<UnpairedModule {}: {}>", u.module, u.reason);
      });

  nb::class_<ErrorSummary>(m, "ErrorSummary", "Relative errors of a group of modules.")
      .def_ro("modules", &ErrorSummary::modules)
      .def_ro("failed", &ErrorSummary::failed)
      .def_ro("median", &ErrorSummary::median)
      .def_ro("p95", &ErrorSummary::p95)
      .def_ro("max", &ErrorSummary::max)
      .def("__repr__", [](const ErrorSummary& s) {
        return fmt::format("<ErrorSummary {} modules, {} failed, median={:.4g} max={:.4g}>",
                           s.modules, s.failed, s.median, s.max);
      });

  nb::class_<CompareReport>(m, "CompareReport",
                            "What ckptdoctor compare reports: per-module errors and the verdict.")
      .def_ro("checkpoint", &CompareReport::quant_dir)
      .def_ro("source", &CompareReport::source_dir)
      .def_ro("modules", &CompareReport::tensors, "Measured modules, worst relative error first.")
      .def_ro("unpaired", &CompareReport::unpaired, "No source tensor: listed, not a failure.")
      .def_ro("undecodable", &CompareReport::undecodable,
              "Could not be decoded or measured: failures.")
      .def_ro("by_format", &CompareReport::by_format)
      .def_ro("by_layer", &CompareReport::by_layer, "'0', '1', ... and 'other'.")
      .def_ro("prefix_change", &CompareReport::prefix_change,
              "'a. -> b.' when the keys needed one to pair; else empty.")
      .def_ro("stored_dense", &CompareReport::stored_dense)
      .def_ro("failed", &CompareReport::failed,
              "Measured modules over their limit or with NaN/Inf.")
      .def_ro("source_bytes", &CompareReport::source_bytes)
      .def_ro("quant_bytes", &CompareReport::quant_bytes)
      .def_ro("seconds", &CompareReport::seconds)
      .def_ro("device", &CompareReport::device, "Where it decoded: 'cpu' or the CUDA device.")
      .def_prop_ro("passed", &CompareReport::passed,
                   "The verdict: nothing over its limit, nothing undecoded, something measured.")
      .def("render", &render, "format"_a = "text",
           "The report as the CLI writes it: 'text', 'json' or 'html' (the --html page).")
      .def("__repr__", [](const CompareReport& r) {
        return fmt::format("<CompareReport {}: {} modules, {} failed, {} undecodable, {}>",
                           r.quant_dir, r.tensors.size(), r.failed, r.undecodable.size(),
                           r.passed() ? "passed" : "failed");
      });

  m.def(
      "compare",
      [](const std::filesystem::path& quant, const std::filesystem::path& source,
         const std::string& device, int threads, std::optional<std::filesystem::path> config,
         bool use_config, std::vector<std::filesystem::path> rules) {
        if (device != "auto" && device != "cpu" && device != "cuda")
          throw nb::value_error(
              fmt::format("device must be 'auto', 'cpu' or 'cuda', not '{}'", device).c_str());
        CompareRequest request;
        request.quant_dir = path_string(quant);
        request.source_dir = path_string(source);
        request.device = device;
        request.threads = threads;
        std::optional<std::string> config_file;
        if (config) config_file = path_string(*config);
        std::vector<std::string> rule_files;
        for (const auto& r : rules) rule_files.push_back(path_string(r));
        nb::gil_scoped_release release;
        return run(std::move(request), config_file, use_config, rule_files);
      },
      "quant"_a, nb::kw_only(), "source"_a, "device"_a = "auto", "threads"_a = 0,
      "config"_a = nb::none(), "use_config"_a = true,
      "rules"_a = std::vector<std::filesystem::path>{},
      "Dequantize every quantized module of the checkpoint `quant` and measure it against the\n"
      "BF16 checkpoint `source` it was made from, as `ckptdoctor compare` does.\n\n"
      "device: 'auto' (a GPU when this build has CUDA and one is there), 'cpu' or 'cuda'.\n"
      "config: project settings (roundtrip-error limits in params); by default\n"
      "QUANT/ckptdoctor.json when it exists and use_config. rules: extra rule files.\n\n"
      "Raises ckptdoctor.Error when the comparison cannot run.");
}

}  // namespace ckd::python

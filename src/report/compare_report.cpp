#include "report/compare_report.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ckd {

std::string readable_percent(double ratio) {
  double pct = 100 * ratio;
  if (!std::isfinite(pct)) return std::isnan(pct) ? "n/a" : "inf";
  if (std::fabs(pct) < 1000) return fmt::format("{:.2f}%", pct);
  int exponent = static_cast<int>(std::floor(std::log10(std::fabs(pct))));
  double mantissa = pct / std::pow(10.0, exponent);
  if (std::fabs(mantissa) >= 9.995) mantissa /= 10, ++exponent;  // 9.999e4 rounds to 1.00e5
  return fmt::format("{:.2f}e{}%", mantissa, exponent);
}

namespace {

constexpr size_t kWorstShown = 10;

// A relative error as a percentage; "inf" when the source was all zeros and the decode was not,
// "not measured" when no element could be (every source element NaN/Inf).
std::string percent(double v) {
  if (std::isnan(v)) return "not measured";
  return std::isfinite(v) ? readable_percent(v) : std::string("inf");
}

// Why a measured module failed, beyond its error: NaN/Inf decoded or in the source.
std::string non_finite_note(const ModuleError& e) {
  std::string note;
  if (e.nan || e.inf) note += fmt::format(", {} NaN and {} Inf decoded", e.nan, e.inf);
  if (e.source_nan || e.source_inf)
    note += fmt::format(", {} NaN and {} Inf in the source (left out of the error)", e.source_nan,
                        e.source_inf);
  return note;
}

nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

nlohmann::json summary_json(const ErrorSummary& s) {
  return {{"modules", s.modules},
          {"failed", s.failed},
          {"median", number_or_null(s.median)},
          {"p95", number_or_null(s.p95)},
          {"max", number_or_null(s.max)}};
}

}  // namespace

void write_compare_text(std::ostream& out, const CompareReport& r, const Palette& p) {
  out << p.bold(fmt::format("ckptdoctor compare {}", r.quant_dir))
      << p.dim(fmt::format("  against {}: {} modules, {} of source in {:.2f}s on {}", r.source_dir,
                           r.tensors.size(), human_bytes(r.source_bytes), r.seconds, r.device))
      << "\n";
  if (!r.prefix_change.empty())
    out << p.dim(fmt::format("keys mapped with the prefix change {}", r.prefix_change)) << "\n";
  if (r.by_format.contains("awq-int4")) {
    // AutoAWQ apply_scale multiplies each weight's input channels by its activation-aware
    // scales and divides the preceding norm / linear by them (awq/quantize/scale.py).
    out << p.dim(
               "awq-int4: AutoAWQ folds activation-aware input-channel scales into the weights; "
               "against the original BF16 the error includes them (an upper bound)")
        << "\n";
  }
  for (const auto& [format, why] : r.cpu_fallback)
    out << p.dim(fmt::format("{} decoded on the CPU: {}", format, why)) << "\n";
  if (r.stored_dense) {
    out << p.dim(
               "compressed-tensors format \"dense\": the weights are stored uncompressed; each "
               "is measured as its scale / zero point sidecars would quantize it")
        << "\n";
  }
  out << "\n";
  auto line = [&](const ModuleError& e) {
    out << fmt::format("  {}: {} relative error {} (limit {}), max abs error {:.4g}{}\n", e.module,
                       e.format, percent(e.rel_error), percent(e.limit), e.max_abs_error,
                       non_finite_note(e));
  };
  size_t source_non_finite = 0;
  for (const ModuleError& e : r.tensors) source_non_finite += (e.source_nan || e.source_inf) ? 1 : 0;
  if (source_non_finite > 0) {
    out << p.severity(Severity::kError) << " " << p.bold("non-finite source")
        << p.dim(fmt::format(" x{}", source_non_finite)) << "\n";
    for (const ModuleError& e : r.tensors) {
      if (e.source_nan || e.source_inf)
        out << fmt::format("  {}: {} NaN and {} Inf in {} of the source\n", e.module, e.source_nan,
                           e.source_inf, e.source);
    }
    out << "\n";
  }
  if (!r.undecodable.empty()) {
    out << p.severity(Severity::kError) << " " << p.bold("not decoded")
        << p.dim(fmt::format(" x{}", r.undecodable.size())) << "\n";
    for (size_t i = 0; i < r.undecodable.size(); ++i) {
      if (i == kWorstShown) {
        out << fmt::format("  ... and {} more (--format json lists them all)\n",
                           r.undecodable.size() - i);
        break;
      }
      out << fmt::format("  {}: {}\n", r.undecodable[i].module, r.undecodable[i].reason);
    }
    out << "\n";
  }
  // Failures come first in r.tensors: all of them, then the worst of the rest.
  if (r.failed > 0) {
    out << p.severity(Severity::kError) << " " << p.bold("roundtrip-error")
        << p.dim(fmt::format(" (CKD701) x{}", r.failed)) << "\n";
    for (size_t i = 0; i < r.failed; ++i) line(r.tensors[i]);
  }
  size_t passing = std::min(kWorstShown, r.tensors.size() - r.failed);
  if (passing > 0) {
    out << (r.failed ? "\n" : "") << (r.failed ? "worst passing modules" : "worst modules") << "\n";
    for (size_t i = r.failed; i < r.failed + passing; ++i) line(r.tensors[i]);
  }
  if (!r.by_format.empty()) {
    out << "\n"
        << p.bold("per format") << p.dim("   modules  median    p95     max  failed") << "\n";
    for (const auto& [name, s] : r.by_format) {
      out << fmt::format("  {:<8} {:>9}  {:>6}  {:>6}  {:>6}  {:>6}\n", name, s.modules,
                         percent(s.median), percent(s.p95), percent(s.max), s.failed);
    }
  }
  if (!r.unpaired.empty()) {
    out << "\n" << p.bold(fmt::format("{} modules not compared", r.unpaired.size())) << "\n";
    for (size_t i = 0; i < r.unpaired.size(); ++i) {
      if (i == kWorstShown) {
        out << fmt::format("  ... and {} more (--format json lists them all)\n",
                           r.unpaired.size() - i);
        break;
      }
      out << fmt::format("  {}: {}\n", r.unpaired[i].module, r.unpaired[i].reason);
    }
  }
  std::string verdict = r.passed() ? p.paint("ok", "1;32") : p.paint("FAIL", "1;31");
  std::string undecoded =
      r.undecodable.empty() ? ""
                            : fmt::format(", {} not decoded", r.undecodable.size());
  std::string none = r.tensors.empty() ? " (no module could be measured)" : "";
  out << fmt::format("\n{} of {} modules over their limit{}{}: {}\n", r.failed, r.tensors.size(),
                     undecoded, none, verdict);
}

void write_compare_json(std::ostream& out, const CompareReport& r) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const ModuleError& e : r.tensors) {
    tensors.push_back({{"module", e.module},
                       {"format", e.format},
                       {"source", e.source},
                       {"elements", e.elements},
                       {"rel_error", number_or_null(e.rel_error)},
                       {"max_abs_error", e.max_abs_error},
                       {"nan", e.nan},
                       {"inf", e.inf},
                       {"source_nan", e.source_nan},
                       {"source_inf", e.source_inf},
                       {"limit", e.limit},
                       {"passed", e.passed}});
  }
  nlohmann::json unpaired = nlohmann::json::array();
  for (const UnpairedModule& u : r.unpaired)
    unpaired.push_back({{"module", u.module}, {"reason", u.reason}});
  nlohmann::json undecodable = nlohmann::json::array();
  for (const UndecodableModule& u : r.undecodable)
    undecodable.push_back({{"module", u.module}, {"reason", u.reason}});
  nlohmann::json formats = nlohmann::json::object(), layers = nlohmann::json::object();
  for (const auto& [name, s] : r.by_format) formats[name] = summary_json(s);
  for (const auto& [name, s] : r.by_layer) layers[name] = summary_json(s);
  nlohmann::json doc = {{"version", 1},
                        {"checkpoint", r.quant_dir},
                        {"source", r.source_dir},
                        {"tensors", tensors},
                        {"unpaired", unpaired},
                        {"undecodable", undecodable},
                        {"summary",
                         {{"modules", r.tensors.size()},
                          {"failed", r.failed},
                          {"unpaired", r.unpaired.size()},
                          {"undecodable", r.undecodable.size()},
                          {"passed", r.passed()},
                          {"formats", formats},
                          {"layers", layers},
                          {"prefix_change", r.prefix_change},
                          {"stored_dense", r.stored_dense},
                          {"source_bytes", r.source_bytes},
                          {"device", r.device},
                          {"seconds", r.seconds}}}};
  if (!r.cpu_fallback.empty()) doc["summary"]["cpu_fallback"] = r.cpu_fallback;
  out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace ckd

#include "scan/baseline.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/json_depth.h"
#include "io/paths.h"

namespace ckd {
namespace {

constexpr int kBaselineVersion = 1;
constexpr uint64_t kMaxBaselineBytes = 64 << 20;

bool is_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

nlohmann::json entry_json(const BaselineEntry& e) {
  return {{"fingerprint", e.fingerprint}, {"code", e.finding.code},
          {"name", e.finding.name},       {"severity", severity_name(e.finding.severity)},
          {"file", e.finding.file},       {"tensor", e.finding.tensor},
          {"message", e.finding.message}, {"count", e.count}};
}

std::string text_field(const nlohmann::json& entry, const char* key, const std::string& where) {
  auto it = entry.find(key);
  if (it == entry.end() || !it->is_string())
    throw std::runtime_error(fmt::format("{}: \"{}\" must be a string", where, key));
  return it->get<std::string>();
}

}  // namespace

std::string mask_numbers(std::string_view m) {
  std::string out;
  out.reserve(m.size());
  for (size_t i = 0; i < m.size();) {
    bool starts_number = is_digit(m[i]) || (m[i] == '.' && i + 1 < m.size() && is_digit(m[i + 1]));
    if (!starts_number) {
      out += m[i++];
      continue;
    }
    while (i < m.size() && (is_digit(m[i]) || m[i] == '.')) ++i;
    // An exponent belongs to the number: 3.1e-05, 1E+10.
    if (i + 1 < m.size() && (m[i] == 'e' || m[i] == 'E')) {
      size_t j = i + 1;
      if (j < m.size() && (m[j] == '+' || m[j] == '-')) ++j;
      if (j < m.size() && is_digit(m[j])) {
        i = j;
        while (i < m.size() && is_digit(m[i])) ++i;
      }
    }
    out += '#';
  }
  return out;
}

std::string baseline_fingerprint(const Finding& f) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64: stable across runs, machines and builds
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;  // field separator
    h *= 1099511628211ull;
  };
  mix(f.code);
  mix(f.file);
  mix(f.tensor);
  mix(mask_numbers(f.message));
  return fmt::format("{:016x}", h);
}

Baseline load_baseline(const std::string& path) {
  Baseline baseline{path, {}};
  nlohmann::json doc;
  try {
    // A baseline is a reviewed file in the repository, but a pull request can change it: parsed
    // with the nesting cap every untrusted JSON gets.
    doc = parse_json_capped<nlohmann::json>(read_small_file(path, kMaxBaselineBytes));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: not a baseline (invalid JSON: {})", path, e.what()));
  }
  auto version = doc.is_object() ? doc.find("ckptdoctor_baseline") : doc.end();
  auto list = doc.is_object() ? doc.find("findings") : doc.end();
  if (version == doc.end() || !version->is_number_integer() ||
      version->get<int64_t>() != kBaselineVersion || list == doc.end() || !list->is_array()) {
    throw std::runtime_error(fmt::format(
        "{}: not a ckptdoctor baseline (want {{\"ckptdoctor_baseline\": {}, \"findings\": [...]}}; "
        "write one with --write-baseline)",
        path, kBaselineVersion));
  }
  size_t index = 0;
  for (const nlohmann::json& item : *list) {
    std::string where = fmt::format("{}: findings[{}]", path, index++);
    if (!item.is_object()) throw std::runtime_error(where + ": not an object");
    BaselineEntry e;
    e.fingerprint = text_field(item, "fingerprint", where);
    e.finding.code = text_field(item, "code", where);
    e.finding.name = text_field(item, "name", where);
    e.finding.file = text_field(item, "file", where);
    e.finding.tensor = text_field(item, "tensor", where);
    e.finding.message = text_field(item, "message", where);
    std::optional<Severity> severity = parse_severity(text_field(item, "severity", where));
    if (!severity) throw std::runtime_error(where + ": unknown severity");
    e.finding.severity = *severity;
    auto count = item.find("count");
    if (count == item.end() || !count->is_number_unsigned() || count->get<uint64_t>() == 0)
      throw std::runtime_error(where + ": \"count\" must be a positive integer");
    e.count = count->get<uint64_t>();
    baseline.entries.push_back(std::move(e));
  }
  return baseline;
}

void write_baseline(const std::string& path, const ScanReport& report) {
  // One entry per fingerprint, in report order (severity, code, file, tensor): reviewable diffs.
  std::vector<BaselineEntry> entries;
  std::map<std::string, size_t> index;
  for (const Finding& f : report.findings) {
    std::string fp = baseline_fingerprint(f);
    auto [it, fresh] = index.emplace(fp, entries.size());
    if (fresh) {
      entries.push_back({fp, f, 0});
      entries.back().finding.omitted = 0;
    }
    entries[it->second].count += f.count();
  }
  nlohmann::json list = nlohmann::json::array();
  for (const BaselineEntry& e : entries) list.push_back(entry_json(e));
  nlohmann::json doc = {
      {"ckptdoctor_baseline", kBaselineVersion}, {"checkpoint", report.dir}, {"findings", list}};
  write_file_atomically(path, [&](std::ostream& out) {
    out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  });
}

void apply_baseline(const Baseline& baseline, ScanReport& report) {
  std::map<std::string, uint64_t> budget;
  for (const BaselineEntry& e : baseline.entries) budget[e.fingerprint] += e.count;
  ScanReport::Baselined outcome{baseline.path, 0, {}};
  std::vector<Finding> kept;
  for (Finding& f : report.findings) {
    auto it = budget.find(baseline_fingerprint(f));
    if (it != budget.end() && it->second >= f.count()) {
      it->second -= f.count();
      outcome.accepted += f.count();
    } else {
      kept.push_back(std::move(f));  // new, or more of them than were accepted
    }
  }
  for (const BaselineEntry& e : baseline.entries) {
    uint64_t& left = budget[e.fingerprint];
    if (left == 0) continue;
    outcome.gone.push_back({e.finding, std::min(left, e.count)});
    left -= std::min(left, e.count);
  }
  report.findings = std::move(kept);
  report.baseline = std::move(outcome);
  count_findings(report);
}

}  // namespace ckd

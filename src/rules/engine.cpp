#include "rules/engine.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "io/parallel.h"
#include "io/trace.h"
#include "rules/registry.h"

namespace ckd {

namespace {

bool entry_matches(const Rule& r, const std::string& entry) {
  if (entry == "ALL" || entry == "all") return true;
  if (entry == r.name || entry == r.code || entry == r.family) return true;
  return entry.size() >= 4 && entry.size() < r.code.size() &&
         r.code.compare(0, entry.size(), entry) == 0;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

bool selector_matches(const Rule& rule, const std::string& entry) {
  return entry_matches(rule, entry);
}

std::string closest_name(const std::string& word, const std::vector<std::string>& names) {
  std::string best;
  size_t best_distance = std::max<size_t>(3, word.size() / 3) + 1;
  for (const std::string& n : names) {
    size_t d = edit_distance(word, n);
    if (d < best_distance) {
      best_distance = d;
      best = n;
    }
  }
  return best;
}

std::vector<std::string> split_commas(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& v : values) {
    std::stringstream ss(v);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (!item.empty()) out.push_back(item);
    }
  }
  return out;
}

std::vector<const Rule*> select_rules(const RuleSet& rules, const std::vector<std::string>& select,
                                      const std::vector<std::string>& ignore) {
  std::vector<std::string> known;
  for (const Rule& r : rules.rules()) known.push_back(r.name);
  for (const char* f :
       {"container", "index", "quantization", "keys", "scales", "data", "roundtrip", "architecture"})
    known.push_back(f);
  auto check_entries = [&](const std::vector<std::string>& entries, const char* flag) {
    for (const std::string& e : entries) {
      bool any = std::any_of(rules.rules().begin(), rules.rules().end(),
                             [&](const Rule& r) { return entry_matches(r, e); });
      if (!any) {
        std::string hint = closest_name(e, known);
        throw std::runtime_error(
            fmt::format("{} {}: no rule, code or family by that name{}", flag, e,
                        hint.empty() ? "" : fmt::format(" (did you mean {}?)", hint)));
      }
    }
  };
  check_entries(select, "--select");
  check_entries(ignore, "--ignore");
  std::vector<const Rule*> out;
  for (const Rule& r : rules.rules()) {
    bool selected =
        select.empty() || std::any_of(select.begin(), select.end(),
                                      [&](const std::string& e) { return entry_matches(r, e); });
    bool ignored = std::any_of(ignore.begin(), ignore.end(),
                               [&](const std::string& e) { return entry_matches(r, e); });
    // Compare-tier rules (roundtrip-error) are evaluated by `ckptdoctor compare`, not a scan.
    if (selected && !ignored && r.tier != "compare") out.push_back(&r);
  }
  return out;
}

std::string reason_not_run(const Rule& rule, const ScanOptions& options, bool has_source) {
  if (rule.tier == "data" && !options.deep) return "reads tensor data: runs only with --deep";
  if (!has_source && make_check(rule.check)->needs_source())
    return "compares against the BF16 source: runs only with --source";
  return "";
}

bool reads_architecture(const std::vector<const Rule*>& rules) {
  return std::any_of(rules.begin(), rules.end(), [](const Rule* r) {
    return r->tier == "header" && r->family == "architecture";
  });
}

std::vector<Finding> run_rules(const std::vector<const Rule*>& rules, const Checkpoint& checkpoint,
                               const Checkpoint* source, const ScanOptions& options,
                               std::shared_ptr<const ArchitectureDiff>* architecture,
                               const std::vector<SideJob>& side_jobs,
                               OpenedWork opened) {
  ScanState state(checkpoint, source, options);
  state.architecture_model = std::move(opened.architecture_model);
  // Scales decoded while the checkpoint opened need nothing of the header tier: the scale
  // rules join its pool (after its own rules), so their jobs fill its tail instead of waiting at
  // a barrier of their own, and the first of them waits for the decode to finish.
  const bool scales_ready = opened.scales != nullptr;
  if (scales_ready) state.scales = opened.scales;
  std::vector<std::string> errors;
  std::mutex errors_mutex;
  std::once_flag scales_once;
  bool scales_failed = false;
  auto await_scales = [&] {
    std::call_once(scales_once, [&] {
      try {
        if (opened.finish_scales) opened.finish_scales();
      } catch (const std::exception& e) {
        std::lock_guard lock(errors_mutex);
        errors.insert(errors.begin(), fmt::format("reading scale tensors: {}", e.what()));
        scales_failed = true;
      }
    });
    return !scales_failed;
  };
  bool any_scale_rule =
      std::any_of(rules.begin(), rules.end(), [](const Rule* r) { return r->tier == "scales"; });
  // Each tier's rules, then the scale rules joining the header tier, then the architecture
  // rules (they wait for the architecture diff).
  auto rank = [](const Rule* r) { return r->family == "architecture" ? 2 : r->tier == "scales"; };
  std::vector<const Rule*> ordered(rules.begin(), rules.end());
  std::stable_sort(ordered.begin(), ordered.end(),
                   [&](const Rule* a, const Rule* b) { return rank(a) < rank(b); });
  for (const char* tier : {"header", "scales", "data"}) {
    if (std::string_view(tier) == "data" && !options.deep) continue;
    if (std::string_view(tier) == "scales" && scales_ready) continue;  // ran with the header's
    const bool with_scales = std::string_view(tier) == "header" && scales_ready;
    PhaseTimer timer(with_scales ? "header + scales" : tier);
    // Jobs: the rules of this tier; during the header tier also the scale-byte decoding the
    // next tier needs (it reads only scale bytes, so it overlaps with the header checks).
    std::vector<std::function<void()>> jobs;
    if (std::string_view(tier) == "header" && any_scale_rule && !scales_ready) {
      jobs.push_back([&state, &errors, &errors_mutex, &opened] {
        try {
          state.prefill_scale_stats();
        } catch (const std::exception& e) {
          std::lock_guard lock(errors_mutex);
          errors.insert(errors.begin(), fmt::format("reading scale tensors: {}", e.what()));
        }
      });
    }
    // The architecture diff is the largest single job and several rules wait for it: it starts
    // at once beside the scale decode, and the architecture rules, which need it, go last.
    if (std::string_view(tier) == "header" && (architecture || reads_architecture(rules))) {
      jobs.push_back([&state] {
        PhaseTimer diff_timer("architecture diff");
        state.architecture_diff();
      });
    }
    if (std::string_view(tier) == "header") {
      for (const SideJob& side : side_jobs) {
        jobs.push_back([&side, &errors, &errors_mutex] {
          try {
            PhaseTimer side_timer(side.name);
            side.run();
          } catch (const std::exception& e) {
            std::lock_guard lock(errors_mutex);
            errors.push_back(fmt::format("{}: {}", side.name, e.what()));
          }
        });
      }
    }
    for (const Rule* rule : ordered) {
      const bool in_tier = rule->tier == tier || (with_scales && rule->tier == "scales");
      if (!in_tier || !reason_not_run(*rule, options, source != nullptr).empty()) continue;
      const bool awaits_scales = with_scales && rule->tier == "scales";
      jobs.push_back([&state, &errors, &errors_mutex, &await_scales, awaits_scales, rule] {
        if (awaits_scales && !await_scales()) return;  // the decode's error fails the scan
        try {
          PhaseTimer check_timer(rule->name.c_str());
          make_check(rule->check)->run(CheckContext(state, *rule));
        } catch (const std::exception& e) {
          std::lock_guard lock(errors_mutex);
          errors.push_back(fmt::format("rule {}: {}", rule->name, e.what()));
        }
      });
    }
    parallel_for(jobs.size(), options.threads, [&](size_t i) { jobs[i](); });
    if (with_scales) await_scales();  // its error fails the scan even when no scale rule ran
    if (!errors.empty()) break;  // a later tier would only fail the same way, more slowly
  }
  if (!errors.empty()) throw std::runtime_error(errors.front());
  if (architecture) {
    state.architecture_diff();
    *architecture = state.architecture;
  }
  // Per rule, findings keep the order their check emitted them in (one thread per check).
  std::vector<Finding> findings = std::move(state.findings);
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    if (a.severity != b.severity) return a.severity > b.severity;
    return a.code < b.code;
  });
  return findings;
}

}  // namespace ckd

#include "scan/scan.h"

#include <algorithm>
#include <chrono>
#include <set>

#include <fmt/format.h>

#include "checkpoint/architecture.h"
#include "io/trace.h"
#include "remote/remote_store.h"
#include "rules/bench_toggle.h"
#include "rules/engine.h"

namespace ckd {

std::string describe_scheme(const QuantScheme& s) {
  if (s.method == QuantMethod::kNone) return "no quantization declared";
  if (s.method == QuantMethod::kUnknown)
    return fmt::format("unknown method {} ({})", s.method_name, s.source_file);
  std::set<std::string> formats;
  for (const QuantGroup& g : s.groups) {
    std::string f = weight_format_name(g.format);
    if (g.input == InputActivations::kStatic) f += " static activations";
    formats.insert(f);
  }
  std::string method = s.algo.empty() ? std::string(quant_method_name(s.method))
                                      : fmt::format("{} {}", quant_method_name(s.method), s.algo);
  return fmt::format("{}: {} ({})", method, fmt::join(formats, ", "), s.source_file);
}

void count_findings(ScanReport& report) {
  report.errors = report.warnings = report.infos = 0;
  report.failed = false;
  // Counts are findings, not report lines: a capped check's "... and N more" note stands for N.
  for (const Finding& f : report.findings) {
    (f.severity == Severity::kError     ? report.errors
     : f.severity == Severity::kWarning ? report.warnings
                                        : report.infos) += f.count();
    if (report.fail_on) report.failed = report.failed || f.severity >= *report.fail_on;
  }
}

ScanReport run_scan(const ScanRequest& request) {
  auto start = std::chrono::steady_clock::now();
  OpenOptions open_options;
  open_options.threads = request.options.threads;
  open_options.progress = request.options.progress;
  auto store = open_store(request.dir, request.http);  // hf:// may be read from the hub cache
  if (request.options.deep && !store->is_local()) {
    throw IoError(
        fmt::format("{}: --deep reads every byte of every tensor; download the "
                    "checkpoint and scan the directory instead",
                    request.dir));
  }
  const bool engines = !request.engines.empty() && !architecture_model_disabled_for_bench();
  // The architecture model needs only the configs and the scheme: it is built while the
  // shard headers are parsed.
  OpenedWork opened;
  OpenOptions checkpoint_options = open_options;
  if (engines || (reads_architecture(request.rules) && !architecture_model_disabled_for_bench())) {
    checkpoint_options.beside_shard_headers = [&opened](const Checkpoint& c) {
      PhaseTimer timer("architecture model");
      opened.architecture_model = model_architecture(c.config(), c.scheme());
    };
  }
  // The scale statistics need only the shards' tables and bytes: they are decoded while the
  // tensor table is built, whose serial merge leaves a core free.
  if (std::any_of(request.rules.begin(), request.rules.end(),
                  [](const Rule* r) { return r->tier == "scales"; })) {
    opened.scales = std::make_shared<ScaleValueCache>();
    checkpoint_options.beside_tensor_table = [scales = opened.scales,
                                              threads = open_options.threads](const Checkpoint& c) {
      prefill_scale_stats(c.shards(), *scales, threads);
    };
  }
  auto ck = Checkpoint::open(std::move(store), checkpoint_options);
  // The decode may outlast the open: the scale rules wait for it (run_rules).
  if (opened.scales) opened.finish_scales = [c = ck.get()] { c->finish_beside_work(); };
  std::unique_ptr<Checkpoint> source;
  if (!request.source_dir.empty())
    source = Checkpoint::open(open_store(request.source_dir, request.http), open_options);

  ScanReport report;
  report.dir = request.dir;
  report.source_dir = request.source_dir;
  report.scheme = describe_scheme(ck->scheme());
  report.files = ck->shards().size();
  report.tensors = ck->tensor_names().size();
  std::shared_ptr<const ArchitectureDiff> architecture;
  // The dtype histograms and the engines' readings of the ignore list need no findings: they
  // run beside the header rules.
  std::vector<EngineIgnoreReasons> ignore_reasons;
  std::vector<SideJob> side_jobs;
  side_jobs.push_back({"dtype histograms", [&] {
                         report.checkpoint_dtypes = count_dtype_bytes(*ck);
                         report.target_dtypes = count_target_dtype_bytes(*ck);
                       }});
  if (engines) {
    side_jobs.push_back({"engine ignore lists", [&] {
                           ignore_reasons = engine_ignore_reasons(request.engines, *ck);
                         }});
  }
  // Kept here too: freeing 30k scales' statistics is the caller's choice (retain_tables).
  std::shared_ptr<ScaleValueCache> scales = opened.scales;
  report.findings = run_rules(request.rules, *ck, source.get(), request.options,
                              engines ? &architecture : nullptr, side_jobs, std::move(opened));
  report.tensor_bytes = report.checkpoint_dtypes.total;
  // Verdicts read the findings and the engines' facts, once per scan.
  if (engines) {
    PhaseTimer timer("engine verdicts");
    report.engines.resize(request.engines.size());
    for (size_t i = 0; i < request.engines.size(); ++i) {
      report.engines[i] =
          engine_verdict(*request.engines[i], *ck, *architecture, report.findings,
                         i < ignore_reasons.size() ? &ignore_reasons[i] : nullptr);
    }
  }
  for (const Rule* r : request.rules) {
    std::string why = reason_not_run(*r, request.options, source != nullptr);
    if (why.empty()) {
      report.rules.push_back(r);
    } else {
      report.not_run.push_back({r, std::move(why)});
    }
  }
  report.fail_on = request.fail_on;
  count_findings(report);
  for (const Checkpoint* c : {ck.get(), source.get()}) {
    const auto* remote = c ? dynamic_cast<const RemoteStore*>(&c->store()) : nullptr;
    if (!remote) continue;
    if (!report.transfer) report.transfer.emplace();
    TransferStats t = remote->transfer();
    report.transfer->requests += t.requests;
    report.transfer->bytes += t.bytes;
    for (const auto& shard : c->shards()) report.transfer->file_bytes += shard->file_size();
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (request.retain_tables) {
    struct Tables {
      std::unique_ptr<Checkpoint> checkpoint, source;
      std::shared_ptr<const ArchitectureDiff> architecture;
      std::shared_ptr<ScaleValueCache> scales;
    };
    report.retained = std::make_shared<Tables>(
        Tables{std::move(ck), std::move(source), std::move(architecture), std::move(scales)});
  }
  return report;
}

}  // namespace ckd

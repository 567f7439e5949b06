// A switch for the benchmarks only.
#pragma once

namespace ckd {

// CKPTDOCTOR_BENCH_NO_ARCHITECTURE set: the scan builds no architecture model (every rule sees
// an unmodeled diff) and gives no engine verdicts. Only for bench/architecture_cost.sh, which
// measures what the model and the engine profiles add to a scan with the same binary.
bool architecture_model_disabled_for_bench();

}  // namespace ckd

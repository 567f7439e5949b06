// `ckptdoctor compare QUANT --source BF16`: decode every quantized module and measure it against
// the tensor it was made from. Relative error ||W^ - W||_2 / ||W||_2 over all elements, the
// largest absolute error, NaN/Inf counts, and a pass/fail against the roundtrip-error rule's
// per-format limit. Streaming by row chunks: memory is bounded by the chunk, not the tensor.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ckd {

struct Rule;

struct ModuleError {
  std::string module;
  std::string format;
  std::string source;  // source tensor name (with [expert][gate|up] for a fused slice)
  uint64_t elements = 0;
  double rel_error = 0;
  double max_abs_error = 0;
  uint64_t nan = 0, inf = 0;  // in the decoded weight
  // NaN/Inf in the source: those elements are left out of the error, and the module fails (a
  // finding of its own, never an error of 0).
  uint64_t source_nan = 0, source_inf = 0;
  double limit = 0;
  bool passed = false;
};

struct UnpairedModule {
  std::string module;
  std::string reason;
};

// A module that could not be decoded or measured (unreadable or missing shard, missing tensor,
// a shape that fits no layout, an unreadable source): a failure with its reason.
using UndecodableModule = UnpairedModule;

struct ErrorSummary {
  size_t modules = 0, failed = 0;
  double median = 0, p95 = 0, max = 0;
};

struct CompareReport {
  std::string quant_dir, source_dir;
  std::vector<ModuleError> tensors;  // worst relative error first
  std::vector<UnpairedModule> unpaired;        // no source tensor: listed, not a failure
  std::vector<UndecodableModule> undecodable;  // failures: what could not be checked
  std::map<std::string, ErrorSummary> by_format;
  std::map<std::string, ErrorSummary> by_layer;  // "0", "1", ... and "other"
  std::string prefix_change;                     // "a. -> b." when the keys needed one
  // compressed-tensors "dense": the weights are stored uncompressed and were measured as their
  // sidecars fake-quantize them.
  bool stored_dense = false;
  size_t failed = 0;  // measured modules over their limit or with NaN/Inf
  uint64_t source_bytes = 0, quant_bytes = 0;
  double seconds = 0;
  std::string device = "cpu";
  // With a GPU: the formats it left to the CPU, and why (the kernels do not decode them).
  std::map<std::string, std::string> cpu_fallback;

  // The gate: nothing over its limit, nothing left undecoded, and at least one module measured.
  bool passed() const { return failed == 0 && undecodable.empty() && !tensors.empty(); }
};

struct CompareRequest {
  std::string quant_dir, source_dir;
  int threads = 0;
  uint64_t chunk_elements = 1u << 20;  // decoded floats per chunk and thread
  const Rule* rule = nullptr;          // roundtrip-error: the per-format limits
  std::string device = "auto";         // auto: CUDA when built and a device is there; cpu; cuda
  bool progress = false;               // a progress line on stderr (modules measured)
};

// Whether this build has the CUDA decoder, and a device to run it; `description` says which
// device, or why not.
bool cuda_usable(std::string* description);

// Throws IoError / std::runtime_error when it cannot run (exit 2).
CompareReport run_compare(const CompareRequest& request);

// The limit for a format from the rule's params ("max_rel_error": {"fp8": 0.1, ...}).
double roundtrip_limit(const Rule& rule, const std::string& format);

// Layer index of a module path ("model.layers.12.mlp..." -> "12"), or "other".
std::string layer_of(const std::string& module);

}  // namespace ckd

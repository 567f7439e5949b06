// --deep: one parallel pass over all tensor data, counting NaN/Inf codes and all-zero tensors.
// Work is split into fixed-size chunks, so memory is bounded by the page cache, not tensor size.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>

#include "safetensors/dtype.h"

namespace ckd {

class Checkpoint;
struct TensorInfo;

struct DataStats {
  uint64_t nan = 0;
  uint64_t inf = 0;
  bool all_zero = true;
};

struct DataScanSummary {
  std::unordered_map<const TensorInfo*, DataStats> tensors;
  uint64_t bytes = 0;
};

DataScanSummary scan_tensor_data(const Checkpoint& ck, int threads, bool progress);

// NaN / Inf / all-zero statistics of a run of little-endian elements (a whole number of them).
DataStats count_values(Dtype dtype, std::string_view bytes);

}  // namespace ckd

// Decoded statistics of scale tensors, read once per scan (the "scales" tier reads only these
// bytes). U8 scales are E8M0 exponents (MX formats); F8 scales use their own encodings.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "safetensors/dtype.h"

namespace ckd {

class Shard;
struct TensorRef;
struct TensorInfo;

struct ScaleStats {
  // false: its byte range or dtype is invalid (the container and dtype rules report those);
  // bytes that cannot be read fail the scan instead (scale_stats throws).
  bool decoded = false;
  bool any_finite = false;
  uint64_t count = 0;
  uint64_t nan = 0, inf = 0, zero = 0, negative = 0;
  uint64_t first_non_finite = 0, first_non_positive = 0;  // element indices
  double first_non_positive_value = 0;
  double min = 0, max = 0;  // over finite values
  double first = 0;         // element 0 (the value of a single-element scale)
  // Finite positive values that are not a power of two (scale-format-mismatch: UE8M0 scales).
  uint64_t not_power_of_two = 0, first_not_power_of_two = 0;
  double first_not_power_of_two_value = 0;
};

class ScaleValueCache {
 public:
  const ScaleStats& stats(const TensorRef& ref);
  // Decodes all of `refs` outside the lock and publishes them at once, so a prefill running
  // beside the header checks never makes them wait on the cache.
  void prefill(const std::vector<const TensorRef*>& refs);

 private:
  // A prefill's statistics and an open-addressing index of them by tensor. Written once before
  // `prefilled_` publishes it and never changed after: the scale rules, four at a time on every
  // core, look up 30k scales each without taking a lock or chasing a map node.
  struct Batch {
    std::deque<ScaleStats> stats;         // where they never move
    std::vector<const TensorInfo*> keys;  // a power of two of slots; nullptr: empty
    std::vector<uint32_t> values;         // index into stats
    const ScaleStats* find(const TensorInfo* info) const;
  };
  std::unique_ptr<Batch> batch_;
  std::atomic<const Batch*> prefilled_{nullptr};
  // Scales outside the prefill, computed one by one as a rule asks.
  std::mutex mutex_;
  std::deque<ScaleStats> singles_;
  std::unordered_map<const TensorInfo*, const ScaleStats*> cache_;
};

ScaleStats compute_scale_stats(const TensorRef& ref);

// Decodes the statistics of every scale tensor of `shards` into `cache`. The scales are found by
// name (split_tensor_name, role_of_param) in each shard's own table, as the module table finds
// them: no module table is needed, so a scan runs this while the tensor table is built. Zero
// points and group indices, which the scales tier reads too, are announced to the byte sources
// with the scales: one batch of range requests per remote shard instead of a round trip each.
void prefill_scale_stats(const std::vector<std::unique_ptr<Shard>>& shards,
                         ScaleValueCache& cache, int threads);

// The statistics of a whole-byte dtype's elements held in `bytes`, added `chunk_elements` at a
// time, as a scale tensor's are (tests hold it to an element-by-element oracle).
ScaleStats scale_stats_of_bytes(Dtype dtype, std::string_view bytes, uint64_t chunk_elements);

}  // namespace ckd

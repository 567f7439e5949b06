// Decoded statistics of scale tensors, read once per scan (the "scales" tier reads only these
// bytes). U8 scales are E8M0 exponents (MX formats); F8 scales use their own encodings.
#pragma once

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

struct TensorRef;
struct TensorInfo;

struct ScaleStats {
  bool decoded = false;  // false: not readable or not a numeric dtype
  std::string error;     // why it could not be decoded
  uint64_t count = 0;
  uint64_t nan = 0, inf = 0, zero = 0, negative = 0;
  uint64_t first_non_finite = 0, first_non_positive = 0;  // element indices
  double first_non_positive_value = 0;
  double min = 0, max = 0;  // over finite values
  double first = 0;         // element 0 (the value of a single-element scale)
  // Finite positive values that are not a power of two (scale-format-mismatch: UE8M0 scales).
  uint64_t not_power_of_two = 0, first_not_power_of_two = 0;
  double first_not_power_of_two_value = 0;
  bool any_finite = false;
};

class ScaleValueCache {
 public:
  const ScaleStats& stats(const TensorRef& ref);
  // Decodes all of `refs` outside the lock, then publishes them under one lock, so a prefill
  // running beside the header checks never makes them wait on the cache.
  void prefill(const std::vector<const TensorRef*>& refs);

 private:
  std::mutex mutex_;
  // The statistics live where they never move (a prefill's whole batch; the ones computed one
  // by one): the map holds pointers, so a 30k-scale prefill is not copied again into map nodes.
  std::vector<std::unique_ptr<std::deque<ScaleStats>>> blocks_;
  std::deque<ScaleStats> singles_;
  std::unordered_map<const TensorInfo*, const ScaleStats*> cache_;
};

ScaleStats compute_scale_stats(const TensorRef& ref);

// The statistics of a whole-byte dtype's elements held in `bytes`, added `chunk_elements` at a
// time, as a scale tensor's are (tests hold it to an element-by-element oracle).
ScaleStats scale_stats_of_bytes(Dtype dtype, std::string_view bytes, uint64_t chunk_elements);

}  // namespace ckd

// compare's error sums, fast and reproducible. Element c of every row adds to lane c % kLanes of
// the float64 sums, rows in order, and the lanes are added in order at the end: the result
// depends on the module's shape only, never on the chunk size or the thread count (a module is
// measured by one thread; chunks hold whole rows). The lanes let the sums run as vector
// operations instead of one long chain of dependent float64 additions.
#pragma once

#include <cstdint>

#include "safetensors/dtype.h"

namespace ckd {

struct ErrorSums {
  static constexpr int kLanes = 8;
  double diff2[kLanes] = {}, ref2[kLanes] = {};
  double max_abs = 0;
  uint64_t measured = 0;      // elements in the sums: both source and decoded finite
  uint64_t nan = 0, inf = 0;  // decoded
  uint64_t source_nan = 0, source_inf = 0;

  // Adds one row: decoded against the source, both as float. A non-finite source element has no
  // error to measure: it is counted and left out of the sums (one NaN would make them NaN, and a
  // NaN error compare as a pass); so is a non-finite decoded element.
  void add_row(const float* decoded, const float* source, uint64_t cols);

  double diff2_total() const;  // the lanes added in order
  double ref2_total() const;
};

// Source elements (BF16, F16 or F32 little-endian bytes) as float, exactly.
void source_to_float(const unsigned char* bytes, Dtype dtype, uint64_t count, float* out);

}  // namespace ckd

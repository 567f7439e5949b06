// A fast path for the header entry every writer emits, compact and in the reference order:
// {"dtype":"BF16","shape":[2048,128],"data_offsets":[0,524288]}
// (safetensors' serialize: serde_json's compact form of `TensorInfo { dtype, shape,
// data_offsets }`, safetensors/src/tensor.rs). It accepts only entries the generic JSON path
// reads without a single issue and declines everything else (whitespace, other orders, extra
// or repeated fields, escapes, unknown dtypes, leading zeros, fractions, overflow, a rank over
// kMaxRank, element or bit counts that overflow or are not whole bytes), so Shard::parse gives
// the same result either way: a declined entry goes through the generic path from its start.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "safetensors/dtype.h"
#include "safetensors/shape.h"

namespace ckd {

struct CanonicalEntry {
  Dtype dtype = Dtype::kBool;  // also the guess for the next entry's (writers group by dtype)
  Shape shape;
  uint64_t begin = 0, end = 0;
  uint64_t numel = 1;
};

// Parses the canonical entry at text[pos...]; returns the bytes it spans, or 0 when the
// entry is not canonical (then `out` is unspecified).
size_t parse_canonical_entry(std::string_view text, size_t pos, CanonicalEntry& out);

// On by default. Tests turn it off to run Shard::parse through the generic path alone and
// compare the two (tests/shard_parse_paths.h); nothing else should.
bool canonical_fast_path_enabled();
void set_canonical_fast_path_enabled(bool enabled);

}  // namespace ckd

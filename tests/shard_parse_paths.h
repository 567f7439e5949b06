// Parses a shard both with and without the canonical-entry fast path and checks that the two
// agree on everything a caller can see: tables, flags and every issue (kind, tensor, text).
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "safetensors/canonical_entry.h"
#include "safetensors/shard.h"

namespace ckd_test {

inline std::unique_ptr<ckd::Shard> parse_both_ways(const std::string& bytes) {
  auto parse = [&](bool fast) {
    ckd::set_canonical_fast_path_enabled(fast);
    auto shard = ckd::Shard::parse(std::make_unique<ckd::MemorySource>("t.safetensors", bytes),
                                   "t.safetensors");
    ckd::set_canonical_fast_path_enabled(true);
    return shard;
  };
  auto fast = parse(true);
  auto generic = parse(false);
  CHECK(fast->header_ok() == generic->header_ok());
  CHECK(fast->loadable() == generic->loadable());
  CHECK(fast->only_padding_rejected() == generic->only_padding_rejected());
  CHECK(fast->metadata() == generic->metadata());
  CHECK(fast->by_name() == generic->by_name());
  REQUIRE(fast->issues().size() == generic->issues().size());
  for (size_t i = 0; i < fast->issues().size(); ++i) {
    const auto &a = fast->issues()[i], &b = generic->issues()[i];
    CHECK(a.kind == b.kind);
    CHECK(a.tensor == b.tensor);
    CHECK(a.message == b.message);
    CHECK(a.omitted == b.omitted);
  }
  REQUIRE(fast->tensors().size() == generic->tensors().size());
  for (size_t i = 0; i < fast->tensors().size(); ++i) {
    const auto &a = fast->tensors()[i], &b = generic->tensors()[i];
    CHECK(a.name == b.name);
    CHECK(a.dtype == b.dtype);
    CHECK(a.shape == b.shape);
    CHECK(a.begin == b.begin);
    CHECK(a.end == b.end);
    CHECK(a.numel == b.numel);
    CHECK(a.shape_valid == b.shape_valid);
    CHECK(a.readable == b.readable);
    CHECK(a.duplicate == b.duplicate);
  }
  return fast;
}

}  // namespace ckd_test

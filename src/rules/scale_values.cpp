#include "rules/scale_values.h"

#include <cmath>
#include <cstring>

#include "checkpoint/checkpoint.h"
#include "checkpoint/file_store.h"
#include "numerics/float_decode.h"

namespace ckd {

ScaleStats compute_scale_stats(const TensorRef& ref) {
  ScaleStats s;
  const TensorInfo& t = *ref.info;
  if (!t.readable || !t.dtype) {
    s.error = "byte range invalid";
    return s;
  }
  Dtype dtype = *t.dtype;
  if (dtype == Dtype::kF4 || dtype == Dtype::kF6_E2M3 || dtype == Dtype::kF6_E3M2 ||
      dtype == Dtype::kC64) {
    s.error = "dtype has no per-element scale encoding";
    return s;
  }
  std::string_view bytes;
  try {
    bytes = ref.shard->tensor_bytes(t);
  } catch (const TransportError&) {
    throw;  // the scan cannot vouch for anything: exit 2, not a silently skipped scale
  } catch (const std::exception& e) {
    s.error = e.what();
    return s;
  }
  s.decoded = true;
  s.count = t.numel;
  auto accumulate = [&s](uint64_t i, double v) {
    if (i == 0) s.first = v;
    if (!std::isfinite(v)) {
      if (s.nan + s.inf == 0) s.first_non_finite = i;
      (std::isnan(v) ? s.nan : s.inf)++;
      return;
    }
    if (v <= 0) {
      if (s.zero + s.negative == 0) {
        s.first_non_positive = i;
        s.first_non_positive_value = v;
      }
      (v == 0 ? s.zero : s.negative)++;
    }
    if (!s.any_finite) {
      s.min = s.max = v;
      s.any_finite = true;
    } else {
      s.min = std::min(s.min, v);
      s.max = std::max(s.max, v);
    }
  };
  // Typed loops for the common scale dtypes; decode_element covers the rest.
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  switch (dtype) {
    case Dtype::kU8:  // MX formats: E8M0 exponents
      for (uint64_t i = 0; i < t.numel; ++i) accumulate(i, decode_e8m0(p[i]));
      break;
    case Dtype::kF8_E4M3:
      for (uint64_t i = 0; i < t.numel; ++i) accumulate(i, decode_f8_e4m3fn(p[i]));
      break;
    case Dtype::kBF16:
      for (uint64_t i = 0; i < t.numel; ++i)
        accumulate(i, decode_bf16(static_cast<uint16_t>(p[2 * i] | (p[2 * i + 1] << 8))));
      break;
    case Dtype::kF32:
      for (uint64_t i = 0; i < t.numel; ++i) {
        float f;
        std::memcpy(&f, p + 4 * i, 4);
        accumulate(i, f);
      }
      break;
    default:
      for (uint64_t i = 0; i < t.numel; ++i) accumulate(i, *decode_element(dtype, bytes, i));
  }
  return s;
}

void ScaleValueCache::prefill(const std::vector<const TensorRef*>& refs) {
  std::vector<ScaleStats> computed;
  computed.reserve(refs.size());
  for (const TensorRef* ref : refs) computed.push_back(compute_scale_stats(*ref));
  std::lock_guard lock(mutex_);
  cache_.reserve(cache_.size() + refs.size());
  for (size_t i = 0; i < refs.size(); ++i) cache_.emplace(refs[i]->info, std::move(computed[i]));
}

const ScaleStats& ScaleValueCache::stats(const TensorRef& ref) {
  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(ref.info);
    if (it != cache_.end()) return it->second;
  }
  ScaleStats s = compute_scale_stats(ref);
  std::lock_guard lock(mutex_);
  return cache_.emplace(ref.info, std::move(s)).first->second;
}

}  // namespace ckd

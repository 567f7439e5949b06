#include "rules/scale_values.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "checkpoint/checkpoint.h"
#include "checkpoint/file_store.h"
#include "numerics/float_decode.h"

namespace ckd {

namespace {

// Feeds elements [first, first + n) held in `bytes` to `accumulate`: typed loops for the
// common scale dtypes, decode_element for the rest.
template <typename Accumulate>
void decode_chunk(Dtype dtype, std::string_view bytes, uint64_t first, uint64_t n,
                  Accumulate&& accumulate) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  switch (dtype) {
    case Dtype::kU8:  // MX formats: E8M0 exponents
      for (uint64_t i = 0; i < n; ++i) accumulate(first + i, decode_e8m0(p[i]));
      break;
    case Dtype::kF8_E4M3:
      for (uint64_t i = 0; i < n; ++i) accumulate(first + i, decode_f8_e4m3fn(p[i]));
      break;
    case Dtype::kBF16:
      for (uint64_t i = 0; i < n; ++i)
        accumulate(first + i,
                   decode_bf16(static_cast<uint16_t>(p[2 * i] | (p[2 * i + 1] << 8))));
      break;
    case Dtype::kF32:
      for (uint64_t i = 0; i < n; ++i) {
        float f;
        std::memcpy(&f, p + 4 * i, 4);
        accumulate(first + i, f);
      }
      break;
    default:
      for (uint64_t i = 0; i < n; ++i) accumulate(first + i, *decode_element(dtype, bytes, i));
  }
}

// The statistics of one scale tensor; `preloaded`, when given, holds all of its bytes (read
// with its neighbours by prefill), otherwise they are read here.
ScaleStats scale_stats(const TensorRef& ref, const std::string_view* preloaded) {
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
  s.count = t.numel;
  auto accumulate = [&s](uint64_t i, double v) {
    if (i == 0) s.first = v;
    if (!std::isfinite(v)) {
      if (s.nan + s.inf == 0) s.first_non_finite = i;
      (std::isnan(v) ? s.nan : s.inf)++;
      return;
    }
    if (int exponent = 0; v > 0 && std::frexp(v, &exponent) != 0.5) {
      if (s.not_power_of_two++ == 0) {
        s.first_not_power_of_two = i;
        s.first_not_power_of_two_value = v;
      }
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
  // The bytes come by copy_to (pread for a local file, the prefetched ranges for a remote one)
  // into a per-thread buffer, a bounded chunk at a time: memory is kChunkBytes per thread
  // whatever the scale's size, and no mapping of the shard is touched.
  constexpr uint64_t kChunkBytes = 1u << 20;
  thread_local std::string buffer;
  const uint64_t element_bytes = dtype_bits(dtype) / 8;  // whole bytes: sub-byte dtypes left
  const uint64_t chunk_elements = kChunkBytes / element_bytes;
  const uint64_t base = ref.shard->data_start() + t.begin;
  if (preloaded) {
    decode_chunk(dtype, *preloaded, 0, t.numel, accumulate);
    s.decoded = true;
    return s;
  }
  try {
    for (uint64_t first = 0; first < t.numel; first += chunk_elements) {
      const uint64_t n = std::min(chunk_elements, t.numel - first);
      buffer.resize(static_cast<size_t>(n * element_bytes));
      ref.shard->source().copy_to(base + first * element_bytes, n * element_bytes, buffer.data());
      decode_chunk(dtype, buffer, first, n, accumulate);
    }
  } catch (const TransportError&) {
    throw;  // the scan cannot vouch for anything: exit 2, not a silently skipped scale
  } catch (const std::exception& e) {
    ScaleStats failed;
    failed.error = e.what();
    return failed;
  }
  s.decoded = true;
  return s;
}

// Whether `ref` is a scale of a local file small enough to be read with its neighbours.
bool joins_runs(const TensorRef& ref, uint64_t run_bytes) {
  const TensorInfo& t = *ref.info;
  return ref.shard->source().file_descriptor() >= 0 && t.readable && t.dtype &&
         dtype_bits(*t.dtype) % 8 == 0 && *t.dtype != Dtype::kC64 && t.nbytes() <= run_bytes;
}

}  // namespace

ScaleStats compute_scale_stats(const TensorRef& ref) {
  return scale_stats(ref, nullptr);
}

void ScaleValueCache::prefill(const std::vector<const TensorRef*>& refs) {
  auto block = std::make_unique<std::deque<ScaleStats>>(refs.size());
  std::deque<ScaleStats>& computed = *block;
  // A shard's scales lie side by side (the reference writer orders tensors by dtype, then name),
  // so in a local file runs of neighbours are read with one pread of at most kRunBytes each
  // instead of one per scale: a few dozen system calls for 30k scales. A remote source reads
  // per scale, from the ranges prefetch_tensor_bytes fetched (a run could span bytes it never
  // fetched). Gaps of up to kGapBytes inside a run are read and skipped.
  constexpr uint64_t kRunBytes = 1u << 20, kGapBytes = 4096;
  std::vector<size_t> local;
  for (size_t i = 0; i < refs.size(); ++i) {
    if (joins_runs(*refs[i], kRunBytes)) {
      local.push_back(i);
    } else {
      computed[i] = scale_stats(*refs[i], nullptr);
    }
  }
  auto offset = [&](size_t i) { return refs[i]->shard->data_start() + refs[i]->info->begin; };
  // Grouped by shard (a few dozen), then by offset within each: the scales come in name order,
  // which within a shard is nearly always offset order already (the writer sorts each dtype's
  // tensors by name), so most groups need no sort. Each scale's statistics come from its own
  // bytes: only the grouping into runs depends on this order.
  {
    std::unordered_map<const Shard*, size_t> group_of;
    std::vector<std::vector<size_t>> groups;
    for (size_t i : local) {
      auto [it, added] = group_of.emplace(refs[i]->shard, groups.size());
      if (added) groups.emplace_back();
      groups[it->second].push_back(i);
    }
    local.clear();
    auto by_offset = [&](size_t a, size_t b) { return offset(a) < offset(b); };
    for (auto& g : groups) {
      if (!std::is_sorted(g.begin(), g.end(), by_offset)) std::sort(g.begin(), g.end(), by_offset);
      local.insert(local.end(), g.begin(), g.end());
    }
  }
  std::string buffer;
  for (size_t first = 0; first < local.size();) {
    const Shard* shard = refs[local[first]]->shard;
    const uint64_t begin = offset(local[first]);
    uint64_t end = begin + refs[local[first]]->info->nbytes();
    size_t last = first + 1;
    while (last < local.size() && refs[local[last]]->shard == shard) {
      uint64_t at = offset(local[last]), stop = at + refs[local[last]]->info->nbytes();
      if (at > end + kGapBytes || std::max(end, stop) - begin > kRunBytes) break;
      end = std::max(end, stop);
      ++last;
    }
    bool read = true;
    try {
      buffer.resize(static_cast<size_t>(end - begin));
      shard->source().copy_to(begin, end - begin, buffer.data());
    } catch (const std::exception&) {
      read = false;  // each scale of the run is read (and its error recorded) on its own
    }
    for (size_t k = first; k < last; ++k) {
      size_t i = local[k];
      if (!read) {
        computed[i] = scale_stats(*refs[i], nullptr);
        continue;
      }
      std::string_view bytes = std::string_view(buffer).substr(
          static_cast<size_t>(offset(i) - begin), static_cast<size_t>(refs[i]->info->nbytes()));
      computed[i] = scale_stats(*refs[i], &bytes);
    }
    first = last;
  }
  std::lock_guard lock(mutex_);
  cache_.reserve(cache_.size() + refs.size());
  for (size_t i = 0; i < refs.size(); ++i) cache_.emplace(refs[i]->info, &computed[i]);
  blocks_.push_back(std::move(block));
}

const ScaleStats& ScaleValueCache::stats(const TensorRef& ref) {
  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(ref.info);
    if (it != cache_.end()) return *it->second;
  }
  ScaleStats s = compute_scale_stats(ref);
  std::lock_guard lock(mutex_);
  auto it = cache_.find(ref.info);
  if (it != cache_.end()) return *it->second;  // another thread computed it meanwhile
  singles_.push_back(std::move(s));
  return *cache_.emplace(ref.info, &singles_.back()).first->second;
}

}  // namespace ckd

#include "rules/scale_values.h"

#include <algorithm>
#include <cmath>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <unordered_map>

#include "checkpoint/checkpoint.h"
#include "checkpoint/file_store.h"
#include "io/trace.h"
#include "numerics/float_decode.h"
#include "numerics/vector_clones.h"

namespace ckd {

namespace {

// The common scale dtypes read as unsigned bit patterns. A positive finite value's pattern lies
// in [1, max_finite], and among those patterns order is value order: min and max are integer
// min and max, and a whole chunk is summarised in eight-lane vectors without decoding it.
struct ScaleBits {
  unsigned bytes;       // element size
  uint32_t max_finite;  // pattern of the greatest finite value
  uint32_t mantissa;    // mantissa mask; a positive pattern above it has a nonzero exponent
};
constexpr ScaleBits kF32Bits{4, 0x7F7FFFFF, 0x7FFFFF};
constexpr ScaleBits kBF16Bits{2, 0x7F7F, 0x7F};
constexpr ScaleBits kE4M3Bits{1, 0x7E, 0x7};  // 0x7F is NaN in E4M3FN

// A positive finite float is a power of two when its mantissa is zero (normal) or has one bit
// set (subnormal), as frexp says; the same holds of each dtype's own fields.
constexpr bool is_pow2_bits(const ScaleBits& f, uint32_t u) {
  const uint32_t m = u & f.mantissa;
  return u > f.mantissa ? m == 0 : (m & (m - 1)) == 0;
}

template <const ScaleBits& kFormat>
uint32_t bits_at(const unsigned char* p, uint64_t i) {
  uint32_t u = 0;
  std::memcpy(&u, p + kFormat.bytes * i, kFormat.bytes);  // little-endian, as the file is
  return u;
}

// Element value of a pattern: the one decoding of these dtypes here, for the general loop
// (with_float_loader) and the vector summary alike.
template <const ScaleBits& kFormat>
float float_of_bits(uint32_t u) {
  if constexpr (kFormat.bytes == 4) {
    return std::bit_cast<float>(u);
  } else if constexpr (kFormat.bytes == 2) {
    return decode_bf16(static_cast<uint16_t>(u));
  } else {
    static const std::array<float, 256>& table = f8_e4m3fn_table();  // decode_f8_e4m3fn's
    return table[u & 0xFF];
  }
}

// Element i of `p` as a float.
template <const ScaleBits& kFormat>
auto element_loader(const unsigned char* p) {
  return [p](uint64_t i) { return float_of_bits<kFormat>(bits_at<kFormat>(p, i)); };
}

// Calls visit(load), where load(i) is element i of `p` as a float, for the common scale
// dtypes (F32, BF16, F8_E4M3); false, without calling it, for the others.
template <typename Visit>
bool with_float_loader(Dtype dtype, const unsigned char* p, Visit&& visit) {
  switch (dtype) {
    case Dtype::kF32:
      visit(element_loader<kF32Bits>(p));
      return true;
    case Dtype::kBF16:
      visit(element_loader<kBF16Bits>(p));
      return true;
    case Dtype::kF8_E4M3:
      visit(element_loader<kE4M3Bits>(p));
      return true;
    default:
      return false;
  }
}

// Feeds elements [first, first + n) held in `bytes` to `accumulate`: typed loops for the
// common scale dtypes and E8M0, decode_element for the rest.
template <typename Accumulate>
void decode_chunk(Dtype dtype, std::string_view bytes, uint64_t first, uint64_t n,
                  Accumulate&& accumulate) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (with_float_loader(dtype, p, [&](auto load) {
        for (uint64_t i = 0; i < n; ++i) accumulate(first + i, load(i));
      })) {
    return;
  }
  if (dtype == Dtype::kU8) {  // MX formats: E8M0 exponents
    for (uint64_t i = 0; i < n; ++i) accumulate(first + i, decode_e8m0(p[i]));
    return;
  }
  for (uint64_t i = 0; i < n; ++i) accumulate(first + i, *decode_element(dtype, bytes, i));
}

struct PositiveSummary {
  bool all_positive_finite = true;
  uint32_t lo = 0, hi = 0;  // patterns of the least and the greatest element
  uint64_t not_pow2 = 0;
};

template <const ScaleBits& kFormat>
[[gnu::always_inline]] inline PositiveSummary summarize_positive(const unsigned char* p,
                                                                 uint64_t n) {
  using U32x8 = uint32_t __attribute__((vector_size(32)));
  using U16x8 = uint16_t __attribute__((vector_size(16)));
  using U8x8 = uint8_t __attribute__((vector_size(8)));
  constexpr uint32_t kMax = kFormat.max_finite, kMantissa = kFormat.mantissa;
  U32x8 bad{}, lo = U32x8{} + kMax, hi{};
  uint64_t i = 0, not_pow2 = 0;
  while (i + 8 <= n) {
    // Lane counters of at most 2^24 vectors each, then added up: no lane wraps.
    const uint64_t stop = i + std::min<uint64_t>((n - i) / 8, uint64_t{1} << 24) * 8;
    U32x8 odd{};
    for (; i < stop; i += 8) {
      U32x8 u;
      if constexpr (kFormat.bytes == 4) {
        std::memcpy(&u, p + 4 * i, 32);
      } else if constexpr (kFormat.bytes == 2) {
        U16x8 h;
        std::memcpy(&h, p + 2 * i, 16);
        u = __builtin_convertvector(h, U32x8);
      } else {
        U8x8 b;
        std::memcpy(&b, p + i, 8);
        u = __builtin_convertvector(b, U32x8);
      }
      bad |= (U32x8)(u - 1 >= kMax);  // 0, negatives (sign set), Inf, NaN
      lo = u < lo ? u : lo;
      hi = u > hi ? u : hi;
      const U32x8 m = u & kMantissa;
      odd -= (U32x8)((u > kMantissa ? m == 0 : (m & (m - 1)) == 0) == 0);  // -(-1) when not
    }
    for (int k = 0; k < 8; ++k) not_pow2 += odd[k];
  }
  PositiveSummary r;
  r.lo = kMax;
  for (int k = 0; k < 8; ++k) {
    r.all_positive_finite = r.all_positive_finite && bad[k] == 0;
    r.lo = std::min(r.lo, lo[k]);
    r.hi = std::max(r.hi, hi[k]);
  }
  for (; i < n; ++i) {
    const uint32_t u = bits_at<kFormat>(p, i);
    r.all_positive_finite = r.all_positive_finite && u - 1 < kMax;
    r.lo = std::min(r.lo, u);
    r.hi = std::max(r.hi, u);
    not_pow2 += !is_pow2_bits(kFormat, u);
  }
  r.not_pow2 = not_pow2;
  return r;
}

CKD_VECTOR_CLONES
PositiveSummary summarize_positive_f32(const unsigned char* p, uint64_t n) {
  return summarize_positive<kF32Bits>(p, n);
}

CKD_VECTOR_CLONES
PositiveSummary summarize_positive_bf16(const unsigned char* p, uint64_t n) {
  return summarize_positive<kBF16Bits>(p, n);
}

CKD_VECTOR_CLONES
PositiveSummary summarize_positive_e4m3(const unsigned char* p, uint64_t n) {
  return summarize_positive<kE4M3Bits>(p, n);
}

// Elements [first, first + n) held at `p` when every one is finite and positive (nearly every
// scale tensor). Returns false and leaves `s` untouched otherwise; the general loop then takes
// the chunk, so the first-index fields stay exact.
template <const ScaleBits& kFormat>
bool add_positive(const unsigned char* p, uint64_t first, uint64_t n, ScaleStats& s,
                  PositiveSummary (*summarize)(const unsigned char*, uint64_t)) {
  if (n == 0) return true;
  const PositiveSummary r = summarize(p, n);
  if (!r.all_positive_finite) return false;
  const auto load = element_loader<kFormat>(p);
  if (first == 0) s.first = load(0);
  if (r.not_pow2 != 0) {
    if (s.not_power_of_two == 0) {
      uint64_t k = 0;
      while (is_pow2_bits(kFormat, bits_at<kFormat>(p, k))) ++k;
      s.first_not_power_of_two = first + k;
      s.first_not_power_of_two_value = load(k);
    }
    s.not_power_of_two += r.not_pow2;
  }
  const float lo = float_of_bits<kFormat>(r.lo), hi = float_of_bits<kFormat>(r.hi);
  if (!s.any_finite) {
    s.min = lo;
    s.max = hi;
    s.any_finite = true;
  } else {
    s.min = std::min(s.min, static_cast<double>(lo));
    s.max = std::max(s.max, static_cast<double>(hi));
  }
  return true;
}

// add_positive for the common scale dtypes; false for the others.
bool positive_chunk(Dtype dtype, std::string_view bytes, uint64_t first, uint64_t n,
                    ScaleStats& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  switch (dtype) {
    case Dtype::kF32:
      return add_positive<kF32Bits>(p, first, n, s, summarize_positive_f32);
    case Dtype::kBF16:
      return add_positive<kBF16Bits>(p, first, n, s, summarize_positive_bf16);
    case Dtype::kF8_E4M3:
      return add_positive<kE4M3Bits>(p, first, n, s, summarize_positive_e4m3);
    default:
      return false;
  }
}

// Adds elements [first, first + n), held in `bytes`, to `s`.
void add_chunk(Dtype dtype, std::string_view bytes, uint64_t first, uint64_t n, ScaleStats& s) {
  if (positive_chunk(dtype, bytes, first, n, s)) return;
  decode_chunk(dtype, bytes, first, n, [&s](uint64_t i, double v) {
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
  });
}

// The statistics of one scale tensor; `preloaded`, when given, holds all of its bytes (read
// with its neighbours by prefill), otherwise they are read here.
ScaleStats scale_stats(const TensorRef& ref, const std::string_view* preloaded) {
  ScaleStats s;
  const TensorInfo& t = *ref.info;
  if (!t.readable || !t.dtype) return s;  // a byte range the container rules report
  Dtype dtype = *t.dtype;
  if (dtype == Dtype::kF4 || dtype == Dtype::kF6_E2M3 || dtype == Dtype::kF6_E3M2 ||
      dtype == Dtype::kC64) {
    return s;  // no per-element scale encoding: unexpected-scale-dtype reports it
  }
  s.count = t.numel;
  // The bytes come by copy_to (pread for a local file, the prefetched ranges for a remote one)
  // into a per-thread buffer, a bounded chunk at a time: memory is kChunkBytes per thread
  // whatever the scale's size, and no mapping of the shard is touched.
  constexpr uint64_t kChunkBytes = 1u << 20;
  thread_local std::string buffer;
  const uint64_t element_bytes = dtype_bits(dtype) / 8;  // whole bytes: sub-byte dtypes left
  const uint64_t chunk_elements = kChunkBytes / element_bytes;
  const uint64_t base = ref.shard->data_start() + t.begin;
  if (preloaded) {
    add_chunk(dtype, *preloaded, 0, t.numel, s);
    s.decoded = true;
    return s;
  }
  // A read that fails (a shard cut short since it was opened, a transport error) throws: the
  // scan cannot vouch for the scale, so it fails with the reason (exit 2), as a --deep read does,
  // instead of passing over a scale it never saw.
  for (uint64_t first = 0; first < t.numel; first += chunk_elements) {
    const uint64_t n = std::min(chunk_elements, t.numel - first);
    buffer.resize(static_cast<size_t>(n * element_bytes));
    ref.shard->source().copy_to(base + first * element_bytes, n * element_bytes, buffer.data());
    add_chunk(dtype, buffer, first, n, s);
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

ScaleStats scale_stats_of_bytes(Dtype dtype, std::string_view bytes, uint64_t chunk_elements) {
  ScaleStats s;
  const uint64_t element_bytes = dtype_bits(dtype) / 8;
  if (element_bytes == 0 || chunk_elements == 0) return s;
  s.count = bytes.size() / element_bytes;
  for (uint64_t first = 0; first < s.count; first += chunk_elements) {
    uint64_t n = std::min(chunk_elements, s.count - first);
    add_chunk(dtype, bytes.substr(first * element_bytes, n * element_bytes), first, n, s);
  }
  s.decoded = true;
  return s;
}

namespace {

// Fibonacci hashing of a tensor's address into `bits` bits: TensorInfos are array elements, so
// their low bits alone would crowd a few slots.
size_t pointer_slot(const TensorInfo* info, unsigned bits) {
  return static_cast<size_t>((reinterpret_cast<uintptr_t>(info) * 0x9E3779B97F4A7C15ull) >>
                             (64 - bits));
}

}  // namespace

const ScaleStats* ScaleValueCache::Batch::find(const TensorInfo* info) const {
  if (keys.empty()) return nullptr;
  const size_t mask = keys.size() - 1;
  const auto bits = static_cast<unsigned>(std::countr_zero(keys.size()));
  for (size_t slot = pointer_slot(info, bits);; slot = (slot + 1) & mask) {
    if (keys[slot] == info) return &stats[values[slot]];
    if (keys[slot] == nullptr) return nullptr;
  }
}

void ScaleValueCache::prefill(const std::vector<const TensorRef*>& refs) {
  if (refs.size() >= std::numeric_limits<uint32_t>::max() / 2)
    throw std::length_error("more scale tensors than a prefill indexes");
  auto batch = std::make_unique<Batch>();
  batch->stats.resize(refs.size());
  std::deque<ScaleStats>& computed = batch->stats;
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
    const Shard* last_shard = nullptr;  // neighbours share a shard: one lookup per run of them
    size_t last_group = 0;
    for (size_t i : local) {
      if (refs[i]->shard != last_shard) {  // a ref's shard is never null
        auto [it, added] = group_of.try_emplace(refs[i]->shard, groups.size());
        if (added) groups.emplace_back();
        last_shard = refs[i]->shard;
        last_group = it->second;
      }
      groups[last_group].push_back(i);
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
    // A run that cannot be read fails the scan, as one scale would (scale_stats).
    buffer.resize(static_cast<size_t>(end - begin));
    shard->source().copy_to(begin, end - begin, buffer.data());
    for (size_t k = first; k < last; ++k) {
      size_t i = local[k];
      std::string_view bytes = std::string_view(buffer).substr(
          static_cast<size_t>(offset(i) - begin), static_cast<size_t>(refs[i]->info->nbytes()));
      computed[i] = scale_stats(*refs[i], &bytes);
    }
    first = last;
  }
  // At most half the slots full: a lookup probes one or two slots. The first of two refs to
  // the same tensor is kept (their statistics are the same).
  unsigned bits = 4;
  while ((size_t{1} << bits) < 2 * refs.size()) ++bits;
  batch->keys.assign(size_t{1} << bits, nullptr);
  batch->values.resize(batch->keys.size());
  const size_t mask = batch->keys.size() - 1;
  for (size_t i = 0; i < refs.size(); ++i) {
    const TensorInfo* info = refs[i]->info;
    size_t slot = pointer_slot(info, bits);
    while (batch->keys[slot] != nullptr && batch->keys[slot] != info) slot = (slot + 1) & mask;
    if (batch->keys[slot] != nullptr) continue;
    batch->keys[slot] = info;
    batch->values[slot] = static_cast<uint32_t>(i);
  }
  std::lock_guard lock(mutex_);
  if (batch_) {  // a second prefill: its statistics join the one-by-one cache
    for (size_t i = 0; i < refs.size(); ++i) {
      if (batch_->find(refs[i]->info) || cache_.count(refs[i]->info)) continue;
      singles_.push_back(std::move(computed[i]));
      cache_.emplace(refs[i]->info, &singles_.back());
    }
    return;
  }
  batch_ = std::move(batch);
  prefilled_.store(batch_.get(), std::memory_order_release);
}

void prefill_scale_stats(const std::vector<std::unique_ptr<Shard>>& shards,
                         ScaleValueCache& cache, int threads) {
  PhaseTimer timer("scale statistics");
  std::vector<TensorRef> scales, others;  // others: zero points and group indices
  for (const auto& shard : shards) {
    // A local file needs only its scales (it has nothing to prefetch): names that cannot be a
    // scale's are passed over without being split.
    const bool local = shard->source().file_descriptor() >= 0;
    for (const TensorInfo& t : shard->tensors()) {
      if (t.duplicate) continue;  // the tensor table keeps the first of a shard's duplicates
      if (local && !may_name_scale(t.name)) continue;
      const TensorRole role = split_tensor_name_with_role(t.name).role;
      if (is_scale_role(role)) {
        scales.push_back({shard.get(), &t});
      } else if (role == TensorRole::kZeroPoint || role == TensorRole::kGIdx) {
        others.push_back({shard.get(), &t});
      }
    }
  }
  std::vector<const TensorRef*> scale_refs, fetched;
  for (const TensorRef& r : scales) scale_refs.push_back(&r);
  fetched.reserve(scales.size() + others.size());
  fetched.assign(scale_refs.begin(), scale_refs.end());
  for (const TensorRef& r : others) fetched.push_back(&r);
  prefetch_tensor_bytes(fetched, threads);
  cache.prefill(scale_refs);
}

const ScaleStats& ScaleValueCache::stats(const TensorRef& ref) {
  if (const Batch* batch = prefilled_.load(std::memory_order_acquire)) {
    if (const ScaleStats* s = batch->find(ref.info)) return *s;
  }
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

#include "rules/data_stats.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "io/parallel.h"
#include "io/progress.h"

namespace ckd {

namespace {

constexpr uint64_t kChunkBytes = 16ull << 20;    // one work item
constexpr uint64_t kBufferBytes = 256ull << 10;  // read and scanned while it sits in L2

struct WorkItem {
  const Shard* shard;
  const TensorInfo* tensor;
  uint64_t offset;  // within the tensor
  uint64_t length;
};

// SWAR over 64-bit words: each word holds 8/4/2 lanes of one float format. With the sign bit
// cleared, a lane is NaN when it is above the all-ones exponent pattern and Inf when equal to
// it. Adding (2^(bits-1) - 1 - inf_pattern) to a lane sets its top bit exactly when the lane
// is above the pattern (lanes cannot carry into each other: the top bit starts clear), and
// the zero-lane test below is exact (no borrows), so popcounts give exact counts.
struct LaneFormat {
  uint64_t magnitude_mask;  // every lane's bits except its sign bit
  uint64_t top_bits;        // every lane's sign bit
  uint64_t inf_pattern;     // the Inf bit pattern in every lane (0 when the format has none)
  uint64_t nan_bias;        // added to find lanes above the pattern
  bool has_inf;
};

inline uint64_t zero_lanes(uint64_t t, uint64_t magnitude_mask, uint64_t top_bits) {
  uint64_t y = (t & magnitude_mask) + magnitude_mask;
  return ~(y | t | magnitude_mask) & top_bits;
}

void count_words(const unsigned char* p, uint64_t words, const LaneFormat& f, DataStats& out) {
  uint64_t nan = 0, inf = 0, any = 0;
  for (uint64_t i = 0; i < words; ++i) {
    uint64_t w;
    std::memcpy(&w, p + 8 * i, 8);
    any |= w;
    uint64_t a = w & f.magnitude_mask;
    // NaN and Inf lanes are rare: count bits only in the words that have some (baseline
    // x86-64 has no popcount instruction).
    uint64_t nan_lanes = (a + f.nan_bias) & f.top_bits;
    if (__builtin_expect(nan_lanes != 0, 0))
      nan += static_cast<uint64_t>(__builtin_popcountll(nan_lanes));
    if (f.has_inf) {
      uint64_t inf_lanes = zero_lanes(a ^ f.inf_pattern, f.magnitude_mask, f.top_bits);
      if (__builtin_expect(inf_lanes != 0, 0))
        inf += static_cast<uint64_t>(__builtin_popcountll(inf_lanes));
    }
  }
  out.nan += nan;
  out.inf += inf;
  if (any) out.all_zero = false;
}

constexpr uint64_t kLanes16 = 0x0001000100010001ull, kLanes32 = 0x0000000100000001ull,
                   kLanes8 = 0x0101010101010101ull;

// E4M3FN: NaN is magnitude 0x7F, no Inf. E5M2: Inf 0x7C, NaN above it.
constexpr LaneFormat kBF16{0x7FFF * kLanes16, 0x8000 * kLanes16, 0x7F80 * kLanes16,
                           (0x7FFF - 0x7F80) * kLanes16, true};
constexpr LaneFormat kF16{0x7FFF * kLanes16, 0x8000 * kLanes16, 0x7C00 * kLanes16,
                          (0x7FFF - 0x7C00) * kLanes16, true};
constexpr LaneFormat kF32{0x7FFFFFFF * kLanes32, 0x80000000 * kLanes32, 0x7F800000 * kLanes32,
                          (0x7FFFFFFFull - 0x7F800000) * kLanes32, true};
constexpr LaneFormat kE4M3{0x7F * kLanes8, 0x80 * kLanes8, 0, (0x7F - 0x7E) * kLanes8, false};
constexpr LaneFormat kE5M2{0x7F * kLanes8, 0x80 * kLanes8, 0x7C * kLanes8, (0x7F - 0x7C) * kLanes8,
                           true};

const LaneFormat* lane_format(Dtype d) {
  switch (d) {
    case Dtype::kBF16:
      return &kBF16;
    case Dtype::kF16:
      return &kF16;
    case Dtype::kF32:
      return &kF32;
    case Dtype::kF8_E4M3:
      return &kE4M3;
    case Dtype::kF8_E5M2:
      return &kE5M2;
    default:
      return nullptr;
  }
}

void count_chunk(Dtype d, std::string_view bytes, DataStats& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  uint64_t n = bytes.size();
  uint64_t words = n / 8;
  if (const LaneFormat* f = lane_format(d)) {
    count_words(p, words, *f, out);
    // The tail (under 8 bytes) element by element.
    for (uint64_t i = words * 8; i < n;) {
      uint32_t size = dtype_bits(d) / 8;
      uint64_t v = 0;
      std::memcpy(&v, p + i, size);
      if (v) out.all_zero = false;
      uint64_t top = f->top_bits & ((size == 8 ? ~0ull : (1ull << (8 * size)) - 1));
      uint64_t a = v & f->magnitude_mask & ~top;
      uint64_t pattern = f->inf_pattern & ((1ull << (8 * size)) - 1);
      uint64_t bias = f->nan_bias & ((1ull << (8 * size)) - 1);
      out.nan += ((a + bias) & top) != 0;
      out.inf += f->has_inf && a == pattern;
      i += size;
    }
    return;
  }
  unsigned char any = 0;
  for (uint64_t i = 0; i < n; ++i) any |= p[i];
  if (any) out.all_zero = false;
  if (d == Dtype::kF8_E4M3FNUZ || d == Dtype::kF8_E5M2FNUZ) {
    for (uint64_t i = 0; i < n; ++i) out.nan += p[i] == 0x80;  // FNUZ: the only NaN, no Inf
  }
}

}  // namespace

DataStats count_values(Dtype dtype, std::string_view bytes) {
  DataStats stats;
  count_chunk(dtype, bytes, stats);
  return stats;
}

DataScanSummary scan_tensor_data(const Checkpoint& ck, int threads, bool progress) {
  std::vector<WorkItem> items;
  DataScanSummary summary;
  for (const auto& shard : ck.shards()) {
    for (const TensorInfo& t : shard->tensors()) {
      if (!t.readable || t.duplicate) continue;
      summary.tensors[&t] = DataStats{};
      for (uint64_t off = 0; off < t.nbytes(); off += kChunkBytes) {
        items.push_back({shard.get(), &t, off, std::min(kChunkBytes, t.nbytes() - off)});
      }
      summary.bytes += t.nbytes();
    }
  }
  std::vector<DataStats> results(items.size());
  ProgressLine line(progress, "--deep read", summary.bytes, ProgressLine::Unit::kBytes);
  // copy_to reads with pread (never through the mapping: a shard that shrank after it was
  // opened is a short read and an IoError naming the file, not a SIGBUS); parallel_for brings
  // the first worker's error back to this thread.
  parallel_for(items.size(), threads, [&](size_t i) {
    const WorkItem& w = items[i];
    ByteSource& src = w.shard->source();
    uint64_t at = w.shard->data_start() + w.tensor->begin + w.offset;
    std::vector<char> buffer(kBufferBytes);  // one per 16 MiB item: negligible
    // Buffer sizes are multiples of every element size, so no element straddles two reads.
    for (uint64_t off = 0; off < w.length; off += kBufferBytes) {
      uint64_t n = std::min(kBufferBytes, w.length - off);
      src.copy_to(at + off, n, buffer.data());
      count_chunk(*w.tensor->dtype, std::string_view(buffer.data(), n), results[i]);
    }
    line.add(w.length);
  });
  for (size_t i = 0; i < items.size(); ++i) {
    DataStats& total = summary.tensors[items[i].tensor];
    total.nan += results[i].nan;
    total.inf += results[i].inf;
    total.all_zero = total.all_zero && results[i].all_zero;
  }
  return summary;
}

}  // namespace ckd

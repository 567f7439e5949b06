#include "rules/data_stats.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "checkpoint/checkpoint.h"

namespace ckd {

namespace {

constexpr uint64_t kChunkBytes = 16ull << 20;

struct WorkItem {
  const Shard* shard;
  const TensorInfo* tensor;
  uint64_t offset;  // within the tensor
  uint64_t length;
};

// Counts NaN and Inf in a run of 16-bit floats whose exponent field is `exp_mask`.
template <uint16_t kExpMask>
void count_16(const unsigned char* p, uint64_t n, DataStats& out) {
  uint64_t nan = 0, inf = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint16_t v;
    std::memcpy(&v, p + 2 * i, 2);
    uint16_t a = v & 0x7FFF;
    nan += a > kExpMask;
    inf += a == kExpMask;
  }
  out.nan += nan, out.inf += inf;
}

void count_chunk(Dtype d, std::string_view bytes, DataStats& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  uint64_t n = bytes.size();
  unsigned char any = 0;
  for (uint64_t i = 0; i < n; ++i) any |= p[i];
  if (any) out.all_zero = false;
  if (!any) return;  // zeros hold no NaN
  switch (d) {
    case Dtype::kBF16: count_16<0x7F80>(p, n / 2, out); break;
    case Dtype::kF16: count_16<0x7C00>(p, n / 2, out); break;
    case Dtype::kF32: {
      uint64_t nan = 0, inf = 0;
      for (uint64_t i = 0; i < n / 4; ++i) {
        uint32_t v;
        std::memcpy(&v, p + 4 * i, 4);
        uint32_t a = v & 0x7FFFFFFF;
        nan += a > 0x7F800000u;
        inf += a == 0x7F800000u;
      }
      out.nan += nan, out.inf += inf;
      break;
    }
    case Dtype::kF8_E4M3: {
      uint64_t nan = 0;
      for (uint64_t i = 0; i < n; ++i) nan += (p[i] & 0x7F) == 0x7F;
      out.nan += nan;
      break;
    }
    case Dtype::kF8_E5M2: {
      uint64_t nan = 0, inf = 0;
      for (uint64_t i = 0; i < n; ++i) {
        unsigned a = p[i] & 0x7F;
        nan += a > 0x7C;
        inf += a == 0x7C;
      }
      out.nan += nan, out.inf += inf;
      break;
    }
    case Dtype::kF8_E4M3FNUZ:
    case Dtype::kF8_E5M2FNUZ: {
      uint64_t nan = 0;
      for (uint64_t i = 0; i < n; ++i) nan += p[i] == 0x80;
      out.nan += nan;
      break;
    }
    default: break;
  }
}

}  // namespace

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
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> done_bytes{0};
  auto work = [&] {
    for (size_t i = next++; i < items.size(); i = next++) {
      const WorkItem& w = items[i];
      ByteSource& src = w.shard->source();
      uint64_t at = w.shard->data_start() + w.tensor->begin + w.offset;
      src.will_need(at, w.length);
      count_chunk(*w.tensor->dtype, src.read(at, w.length), results[i]);
      done_bytes += w.length;
    }
  };
  int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (int t = 1; t < n; ++t) pool.emplace_back(work);
  std::atomic<bool> finished{false};
  std::thread reporter;
  if (progress) {
    reporter = std::thread([&] {
      while (!finished) {
        std::fprintf(stderr, "\rckptdoctor: --deep read %.1f of %.1f GiB", static_cast<double>(done_bytes) / (1 << 30),
                     static_cast<double>(summary.bytes) / (1 << 30));
        for (int i = 0; i < 5 && !finished; ++i) usleep(100000);
      }
      std::fprintf(stderr, "\r\033[K");
    });
  }
  work();
  for (auto& t : pool) t.join();
  finished = true;
  if (reporter.joinable()) reporter.join();
  for (size_t i = 0; i < items.size(); ++i) {
    DataStats& total = summary.tensors[items[i].tensor];
    total.nan += results[i].nan;
    total.inf += results[i].inf;
    total.all_zero = total.all_zero && results[i].all_zero;
  }
  return summary;
}

}  // namespace ckd

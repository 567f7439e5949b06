// One work-sharing loop for the whole program: the calling thread and `threads - 1` helpers take
// job indices in order until all are done (shard headers, checks of a tier, --deep chunks).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace ckd {

// `requested` threads, or one per hardware thread when it is 0 or less.
inline int worker_count(int requested) {
  return requested > 0 ? requested
                       : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// Calls body(i) for every i in [0, count), on up to `threads` threads (0: all cores). Bodies
// must not throw; they run concurrently and in no fixed order.
template <typename Body>
void parallel_for(size_t count, int threads, Body&& body) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < count; i = next++) body(i);
  };
  size_t helpers =
      std::min(static_cast<size_t>(worker_count(threads)), std::max<size_t>(count, 1)) - 1;
  std::vector<std::thread> pool;
  pool.reserve(helpers);
  for (size_t t = 0; t < helpers; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

}  // namespace ckd

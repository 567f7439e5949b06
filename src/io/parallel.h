// One work-sharing loop for the whole program: the calling thread and `threads - 1` helpers take
// job indices in order until all are done (shard headers, checks of a tier, --deep chunks).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "io/thread_heap.h"

namespace ckd {

// `requested` threads, or one per hardware thread when it is 0 or less.
inline int worker_count(int requested) {
  return requested > 0 ? requested
                       : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// Calls body(i) for every i in [0, count), on up to `threads` threads (0: all cores). Bodies
// run concurrently and in no fixed order. When a body throws (on any thread), no new index is
// handed out, every thread is joined, and the first exception is rethrown here: an exception
// escaping a std::thread would call std::terminate instead of reaching the caller.
template <typename Body>
void parallel_for(size_t count, int threads, Body&& body) {
  std::atomic<size_t> next{0};
  std::exception_ptr first_error;
  std::mutex error_mutex;
  auto work = [&] {
    try {
      for (size_t i = next++; i < count; i = next++) body(i);
    } catch (...) {
      std::lock_guard lock(error_mutex);
      if (!first_error) first_error = std::current_exception();
      next = count;  // the others finish the item they hold and stop
    }
  };
  size_t helpers =
      std::min(static_cast<size_t>(worker_count(threads)), std::max<size_t>(count, 1)) - 1;
  std::vector<std::thread> pool;
  pool.reserve(helpers);
  try {
    for (size_t t = 0; t < helpers; ++t) {
      pool.emplace_back([&work] {
        reserve_thread_heap();
        work();
      });
    }
  } catch (const std::system_error&) {
    // No more threads to be had: the ones started (and this one) do all the work.
  }
  work();
  for (auto& t : pool) t.join();
  if (first_error) std::rethrow_exception(first_error);
}

// `work` on a thread of its own while the caller goes on, or in finish() when `concurrent` is
// false (one thread) or no thread can be had. finish() waits for it and rethrows what it threw;
// the destructor waits too, so an exception in the caller never leaves it running on state that
// is being freed.
class SideThread {
 public:
  SideThread(std::function<void()> work, bool concurrent) : work_(std::move(work)) {
    if (!work_ || !concurrent) return;
    try {
      thread_ = std::thread([this] {
        reserve_thread_heap();
        run();
      });
    } catch (const std::system_error&) {
      // finish() runs it on the caller's thread.
    }
  }
  ~SideThread() {
    if (thread_.joinable()) thread_.join();
  }
  SideThread(const SideThread&) = delete;
  SideThread& operator=(const SideThread&) = delete;

  void finish() {
    if (thread_.joinable()) {
      thread_.join();
    } else if (work_ && !ran_) {
      run();
    }
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  void run() {
    ran_ = true;
    try {
      work_();
    } catch (...) {
      error_ = std::current_exception();
    }
  }
  std::function<void()> work_;
  std::thread thread_;
  bool ran_ = false;
  std::exception_ptr error_;
};

}  // namespace ckd

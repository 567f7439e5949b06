// CKPTDOCTOR_TRACE=1 prints the duration of each scan phase to stderr (for profiling): wall
// time, and the process's CPU time over the same span (all threads; on a loaded machine the
// CPU figure is the steadier one, and with --threads 1 it is the phase's own cost), and the
// growth of the heap in use over the span (glibc), where the scan's page faults come from.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ckd {

class PhaseTimer {
 public:
  explicit PhaseTimer(const char* name)
      : name_(name),
        start_(std::chrono::steady_clock::now()),
        cpu_start_(enabled() ? cpu_ms() : 0),  // a system call: only when tracing
        heap_start_(heap_bytes()) {}
  ~PhaseTimer() {
    if (!enabled()) return;
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
                    .count();
    // "at": when the phase ended, since the program's static initialisation (after the dynamic
    // loader), so gaps between phases show.
    double at =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - kStart)
            .count();
    std::fprintf(stderr, "ckptdoctor: %-24s %8.1f ms %8.1f ms cpu %+8.2f MiB heap  at %6.1f ms\n",
                 name_, ms, cpu_ms() - cpu_start_,
                 static_cast<double>(heap_bytes() - heap_start_) / (1024.0 * 1024.0), at);
  }
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

 private:
  static inline const std::chrono::steady_clock::time_point kStart =
      std::chrono::steady_clock::now();
  static double cpu_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
  }
  static bool enabled() {
    static const bool on = std::getenv("CKPTDOCTOR_TRACE") != nullptr;
    return on;
  }
  static long long heap_bytes() {
#if defined(__GLIBC__)
    if (enabled()) {
      struct mallinfo2 m = ::mallinfo2();
      return static_cast<long long>(m.uordblks + m.hblkhd);
    }
#endif
    return 0;
  }
  const char* name_;
  std::chrono::steady_clock::time_point start_;
  double cpu_start_;
  long long heap_start_;
};

}  // namespace ckd

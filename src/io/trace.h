// CKPTDOCTOR_TRACE=1 prints the duration of each scan phase to stderr (for profiling).
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace ckd {

class PhaseTimer {
 public:
  explicit PhaseTimer(const char* name) : name_(name), start_(std::chrono::steady_clock::now()) {}
  ~PhaseTimer() {
    static const bool enabled = std::getenv("CKPTDOCTOR_TRACE") != nullptr;
    if (!enabled) return;
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
                    .count();
    std::fprintf(stderr, "ckptdoctor: %-24s %8.1f ms\n", name_, ms);
  }
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

 private:
  const char* name_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace ckd

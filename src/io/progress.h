// One progress line on stderr for long work (--deep, compare, fix, batch scans): what is done of
// the total, the rate and the time left, redrawn twice a second by a thread of its own and
// erased when the work ends (on every exit, an exception included). Off unless asked: the
// commands turn it on for a terminal (--progress auto) or always (--progress always).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

namespace ckd {

// --progress auto|always|never: auto draws only when stderr is a terminal. Throws
// std::invalid_argument for another word.
bool progress_wanted(const std::string& mode);

class ProgressLine {
 public:
  enum class Unit { kBytes, kItems };
  // `what` leads the line ("compare", "--deep read"); `noun` names items ("modules").
  ProgressLine(bool enabled, std::string what, uint64_t total, Unit unit,
               std::string noun = "");
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void add(uint64_t n) { done_.fetch_add(n, std::memory_order_relaxed); }
  void set_total(uint64_t total) { total_.store(total, std::memory_order_relaxed); }

  // The text of the line for `done` of `total` after `seconds` (tested without a terminal).
  static std::string render(const std::string& what, uint64_t done, uint64_t total, Unit unit,
                            const std::string& noun, double seconds);

 private:
  void run();

  std::string what_, noun_;
  Unit unit_;
  std::atomic<uint64_t> done_{0}, total_{0};
  std::atomic<bool> finished_{false};
  std::chrono::steady_clock::time_point start_;
  std::thread thread_;
};

}  // namespace ckd

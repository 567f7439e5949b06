#include "io/progress.h"

#include <unistd.h>

#include <cstdio>
#include <stdexcept>

#include <fmt/format.h>

namespace ckd {

namespace {

std::string amount(uint64_t n, ProgressLine::Unit unit) {
  if (unit == ProgressLine::Unit::kItems) return fmt::format("{}", n);
  double v = static_cast<double>(n);
  if (v >= 1024.0 * 1024 * 1024) return fmt::format("{:.1f} GiB", v / (1024.0 * 1024 * 1024));
  if (v >= 1024.0 * 1024) return fmt::format("{:.1f} MiB", v / (1024.0 * 1024));
  return fmt::format("{:.0f} KiB", v / 1024.0);
}

std::string duration(double seconds) {
  uint64_t s = static_cast<uint64_t>(seconds + 0.5);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
}

}  // namespace

bool progress_wanted(const std::string& mode) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  if (mode == "auto") return ::isatty(STDERR_FILENO) != 0;
  throw std::invalid_argument("--progress must be auto, always or never, not " + mode);
}

std::string ProgressLine::render(const std::string& what, uint64_t done, uint64_t total,
                                 Unit unit, const std::string& noun, double seconds) {
  std::string line = fmt::format("ckptdoctor: {} {} of {}", what, amount(done, unit),
                                 amount(total, unit));
  if (!noun.empty()) line += " " + noun;
  if (total > 0) line += fmt::format(" ({:.0f}%)", 100.0 * static_cast<double>(done) / static_cast<double>(total));
  if (seconds >= 1 && done > 0) {
    double rate = static_cast<double>(done) / seconds;
    line += unit == Unit::kBytes ? fmt::format(", {}/s", amount(static_cast<uint64_t>(rate), unit))
                                 : fmt::format(", {:.1f}/s", rate);
    if (total > done) line += ", " + duration(static_cast<double>(total - done) / rate) + " left";
  }
  return line;
}

ProgressLine::ProgressLine(bool enabled, std::string what, uint64_t total, Unit unit,
                           std::string noun)
    : what_(std::move(what)), noun_(std::move(noun)), unit_(unit), total_(total),
      start_(std::chrono::steady_clock::now()) {
  if (enabled) thread_ = std::thread([this] { run(); });
}

ProgressLine::~ProgressLine() {
  finished_ = true;
  if (thread_.joinable()) thread_.join();
}

void ProgressLine::run() {
  while (!finished_) {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::string line = render(what_, done_.load(), total_.load(), unit_, noun_, seconds);
    std::fprintf(stderr, "\r%s\033[K", line.c_str());
    std::fflush(stderr);
    for (int i = 0; i < 5 && !finished_; ++i) ::usleep(100000);
  }
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

}  // namespace ckd

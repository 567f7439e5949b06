// Many small strings that live and die together (the architecture model's 31k expected names):
// copied into large chunks, handed out as views. One allocation per chunk instead of one per
// string, the strings next to each other in memory, and nothing to free one by one. Views stay
// valid as long as the arena (moving it keeps the chunks).
#pragma once

#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace ckd {

class StringArena {
 public:
  std::string_view add(std::string_view s) {
    if (s.size() > free_) {
      size_t size = std::max(kChunk, s.size());
      // Not value-initialized: a page of the chunk is touched only once a string is written.
      chunks_.push_back(std::unique_ptr<char[]>(new char[size]));
      next_ = chunks_.back().get();
      free_ = size;
    }
    if (!s.empty()) std::memcpy(next_, s.data(), s.size());
    std::string_view out(next_, s.size());
    next_ += s.size();
    free_ -= s.size();
    return out;
  }

 private:
  static constexpr size_t kChunk = 256 * 1024;
  std::vector<std::unique_ptr<char[]>> chunks_;
  char* next_ = nullptr;
  size_t free_ = 0;
};

}  // namespace ckd

#include "safetensors/canonical_entry.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <span>

#include "io/checked.h"
#include "safetensors/shard.h"

namespace ckd {

namespace {

std::atomic<bool> fast_path_enabled{true};

class Cursor {
 public:
  Cursor(std::string_view text, size_t pos) : text_(text), pos_(pos) {}
  size_t pos() const { return pos_; }

  // An equality test of a literal's constant length: expanded inline, no memcmp call.
  template <size_t N>
  bool literal(const char (&s)[N]) {
    constexpr size_t size = N - 1;
    if (pos_ > text_.size() || text_.size() - pos_ < size ||
        std::memcmp(text_.data() + pos_, s, size) != 0)
      return false;
    pos_ += size;
    return true;
  }
  bool peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }

  // A JSON integer as JsonReader::read_u64 accepts it, followed by ',' or ']' (so a fraction,
  // exponent or anything else after the digits declines). No sign, no leading zero, no overflow:
  // 19 digits always fit in 64 bits, so only a 20th is checked.
  bool number(uint64_t& value) {
    const char* p = text_.data();
    const size_t n = text_.size();
    size_t i = pos_;
    auto digit_at = [p, n](size_t at) { return at < n && p[at] >= '0' && p[at] <= '9'; };
    if (!digit_at(i) || (p[i] == '0' && digit_at(i + 1))) return false;
    const size_t stop = std::min(n, i + 19);
    uint64_t v = 0;
    for (; i < stop && p[i] >= '0' && p[i] <= '9'; ++i)
      v = v * 10 + static_cast<uint64_t>(p[i] - '0');
    if (digit_at(i)) {
      const auto d = static_cast<uint64_t>(p[i++] - '0');
      if (v > (UINT64_MAX - d) / 10 || digit_at(i)) return false;
      v = v * 10 + d;
    }
    pos_ = i;
    value = v;
    return peek(',') || peek(']');
  }

  // A dtype name: plain capitals, digits and '_' (no escapes) up to the closing quote.
  bool dtype_name(std::string_view& name) {
    size_t start = pos_;
    while (pos_ < text_.size() && pos_ - start <= 16) {
      char c = text_[pos_];
      if (c == '"') {
        name = text_.substr(start, pos_ - start);
        ++pos_;
        return true;
      }
      if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
      ++pos_;
    }
    return false;
  }

 private:
  std::string_view text_;
  size_t pos_;
};

}  // namespace

bool canonical_fast_path_enabled() {
  return fast_path_enabled.load(std::memory_order_relaxed);
}

void set_canonical_fast_path_enabled(bool enabled) {
  fast_path_enabled.store(enabled, std::memory_order_relaxed);
}

size_t parse_canonical_entry(std::string_view text, size_t pos, CanonicalEntry& out) {
  Cursor c(text, pos);
  std::string_view name;
  if (!c.literal(R"({"dtype":")") || !c.dtype_name(name)) return 0;
  // Writers group a header's entries by dtype: the previous entry's is tried first.
  if (name != dtype_name(out.dtype)) {
    auto dtype = parse_dtype(name);
    if (!dtype) return 0;  // the generic path reports the unknown dtype
    out.dtype = *dtype;
  }
  if (!c.literal(R"(,"shape":[)")) return 0;
  // The dims go to the vector in one allocation of their exact count (push_back would
  // reallocate at the second dim: one more malloc and free per tensor).
  uint64_t dims[kMaxRank];
  size_t rank = 0;
  if (!c.literal("]")) {
    while (true) {
      if (rank == kMaxRank || !c.number(dims[rank])) return 0;
      ++rank;
      if (c.literal("]")) break;
      if (!c.literal(",")) return 0;
    }
  }
  if (!c.literal(R"(,"data_offsets":[)") || !c.number(out.begin) || !c.literal(",") ||
      !c.number(out.end) || !c.literal("]}"))
    return 0;
  // The counts Shard::parse_header checks: an overflow or a partial byte is an issue there.
  uint64_t numel = 1;
  for (uint64_t d : std::span<const uint64_t>(dims, rank)) {
    auto next = checked_mul(numel, d);
    if (!next) return 0;
    numel = *next;
  }
  auto bits = checked_mul(numel, dtype_bits(out.dtype));
  if (!bits || *bits % 8 != 0) return 0;
  out.numel = numel;
  out.shape.assign(dims, dims + rank);
  return c.pos() - pos;
}

}  // namespace ckd

#include "safetensors/canonical_entry.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <span>

#include "io/checked.h"
#include "safetensors/shard.h"

namespace ckd {

namespace {

std::atomic<bool> fast_path_enabled{true};

constexpr uint64_t kPowersOf10[9] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

uint64_t load_word(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
  return w;  // the first byte in the low bits
}

// How many of the word's bytes, from the first, are ASCII digits (0 to 8). After the xor a
// digit byte is 0..9; adding 0x76 to its low seven bits sets the top bit from 10 up, and a byte
// of 0x80 or more has it already (the masked add cannot carry into the next byte).
unsigned leading_digits(uint64_t word) {
  const uint64_t t = word ^ 0x3030303030303030u;
  const uint64_t non_digit =
      (((t & 0x7F7F7F7F7F7F7F7Fu) + 0x7676767676767676u) | t) & 0x8080808080808080u;
  return non_digit == 0 ? 8 : static_cast<unsigned>(std::countr_zero(non_digit)) / 8;
}

// The value of the word's first k (1 to 8) bytes, all digits: shifted up so that they are the
// last k of eight (the others read as leading zeros), then pairs, quads and the eight combined
// by three multiplications (simdjson's parse_eight_digits_unrolled). A byte after the digits
// may borrow in the subtraction, but only into later bytes, which the shift drops.
uint64_t digits_value(uint64_t word, unsigned k) {
  uint64_t v = (word - 0x3030303030303030u) << (8 * (8 - k));
  v = v * 10 + (v >> 8);
  return ((v & 0x000000FF000000FFu) * (100 + (1000000ull << 32)) +
          ((v >> 16) & 0x000000FF000000FFu) * (1 + (10000ull << 32))) >>
         32;
}

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
  // exponent or anything else after the digits declines). No sign, no leading zero, no overflow.
  // Up to 16 digits are read eight bytes at a time where 16 bytes remain; the rest, and numbers
  // of 17 digits or more, go through the byte loop.
  bool number(uint64_t& value) {
    const char* p = text_.data();
    const size_t n = text_.size();
    if (pos_ <= n && n - pos_ >= 16) {
      const uint64_t first = load_word(p + pos_);
      const unsigned k = leading_digits(first);
      if (k == 0 || (p[pos_] == '0' && k > 1)) return false;
      if (k < 8) {
        value = digits_value(first, k);
        pos_ += k;
        return peek(',') || peek(']');
      }
      const uint64_t second = load_word(p + pos_ + 8);
      const unsigned k2 = leading_digits(second);
      if (k2 < 8) {
        value = digits_value(first, 8);
        if (k2 > 0) value = value * kPowersOf10[k2] + digits_value(second, k2);
        pos_ += 8 + k2;
        return peek(',') || peek(']');
      }
    }
    return number_bytewise(value);
  }

  bool number_bytewise(uint64_t& value) {
    const char* p = text_.data();
    const size_t n = text_.size();
    size_t i = pos_;
    auto digit_at = [p, n](size_t at) { return at < n && p[at] >= '0' && p[at] <= '9'; };
    if (!digit_at(i) || (p[i] == '0' && digit_at(i + 1))) return false;
    // 19 digits always fit in 64 bits, so only a 20th is checked.
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

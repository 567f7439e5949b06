// The hash of the scan's name tables (tensor, module and expected names, 20 to 100 bytes each):
// 16 bytes a step folded by one 64x64->128-bit multiply, as wyhash does. std::hash of a string
// (libstdc++'s _Hash_bytes, a byte-oriented Murmur) spent about 150 instructions a name; this
// spends about a third of that, with the low bits an open-addressing mask keeps as well mixed.
// Not for anything stored or compared across processes: the value may change between versions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace ckd {

namespace text_hash_detail {

__extension__ typedef unsigned __int128 U128;

inline uint64_t fold(uint64_t a, uint64_t b) {
  const U128 r = static_cast<U128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline uint64_t load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline uint64_t load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

constexpr uint64_t kSeed0 = 0xa0761d6478bd642full;
constexpr uint64_t kSeed1 = 0xe7037ed1a0b428dbull;
constexpr uint64_t kSeed2 = 0x8ebc6af09c88c6e3ull;

}  // namespace text_hash_detail

inline uint64_t hash_text(std::string_view text) {
  using namespace text_hash_detail;
  const char* p = text.data();
  size_t n = text.size();
  uint64_t h = kSeed0 ^ static_cast<uint64_t>(n);
  uint64_t a = 0, b = 0;
  if (n > 16) {
    do {
      h = fold(load64(p) ^ kSeed1, load64(p + 8) ^ h);
      p += 16;
      n -= 16;
    } while (n > 16);
    // The last 16 bytes, overlapping what was read: every byte counts, no tail loop.
    a = load64(p + n - 16);
    b = load64(p + n - 8);
  } else if (n >= 8) {
    a = load64(p);
    b = load64(p + n - 8);
  } else if (n >= 4) {
    a = load32(p);
    b = load32(p + n - 4);
  } else if (n > 0) {
    a = (static_cast<uint64_t>(static_cast<unsigned char>(p[0])) << 16) |
        (static_cast<uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8) |
        static_cast<unsigned char>(p[n - 1]);
  }
  return fold(kSeed1 ^ text.size(), fold(a ^ kSeed1, b ^ h) ^ kSeed2);
}

// hash_text for unordered containers keyed by std::string and probed by string_view
// (heterogeneous lookup, with std::equal_to<>): a probe allocates nothing.
struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return hash_text(s); }
};

}  // namespace ckd

// hash_text, the scan's name-table hash: every byte and the length count, equal texts hash
// equal wherever they sit in memory, and the low bits an open-addressing mask keeps spread
// tensor names as well as random values would.
#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <string>
#include <unordered_set>

#include <fmt/format.h>

#include "io/text_hash.h"

using ckd::hash_text;

TEST_CASE("hash_text: each byte and the length change the hash, at every length up to 70") {
  for (size_t n = 0; n <= 70; ++n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += static_cast<char>('a' + i % 26);
    const uint64_t h = hash_text(s);
    CAPTURE(n);
    // The same bytes elsewhere in memory (an unaligned copy inside a longer buffer).
    std::string padded = "#" + s + "#";
    CHECK(hash_text(std::string_view(padded).substr(1, n)) == h);
    for (size_t i = 0; i < n; ++i) {
      std::string t = s;
      t[i] = static_cast<char>(t[i] ^ 0x01);
      CAPTURE(i);
      CHECK(hash_text(t) != h);
    }
    CHECK(hash_text(s + '\0') != h);  // a trailing zero byte is not nothing
    if (n > 0) CHECK(hash_text(std::string_view(s).substr(0, n - 1)) != h);
  }
}

TEST_CASE("hash_text: the low 16 bits of 50k tensor names are as spread as random values") {
  // 50,000 names of a MoE checkpoint's shape, differing only in their layer and expert numbers
  // and projection: a weak hash collides on such near-duplicates.
  std::unordered_set<uint64_t> low_bits, full;
  size_t names = 0;
  for (int layer = 0; layer < 40; ++layer) {
    for (int expert = 0; expert < 416; ++expert) {
      for (const char* proj : {"gate_proj", "up_proj", "down_proj"}) {
        const std::string name =
            fmt::format("model.layers.{}.mlp.experts.{}.{}.weight", layer, expert, proj);
        const uint64_t h = hash_text(name);
        low_bits.insert(h & 0xFFFF);
        full.insert(h);
        ++names;
      }
    }
  }
  CHECK(names == 49920);
  CHECK(full.size() == names);
  // Random values fill 65536 * (1 - e^(-49920/65536)) = 35,062 buckets on average (standard
  // deviation about 120).
  CHECK(low_bits.size() > 34500);
}

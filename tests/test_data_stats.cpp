// The --deep SWAR counters against the scalar decoders (themselves checked against ml_dtypes):
// every code of each format, in every position of a word, with odd-length tails.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "numerics/float_decode.h"
#include "rules/data_stats.h"

namespace {

ckd::DataStats reference(ckd::Dtype d, const std::string& bytes) {
  ckd::DataStats s;
  uint64_t size = ckd::dtype_bits(d) / 8;
  for (uint64_t i = 0; i < bytes.size() / size; ++i) {
    double v = *ckd::decode_element(d, bytes, i);
    s.nan += std::isnan(v);
    s.inf += std::isinf(v);
  }
  s.all_zero = bytes.find_first_not_of('\0') == std::string::npos;
  return s;
}

void check_all_codes(ckd::Dtype d, uint32_t codes, uint32_t step) {
  uint32_t size = ckd::dtype_bits(d) / 8;
  for (size_t shift = 0; shift < 8; shift += size) {  // each lane position
    for (size_t tail = 0; tail < 3; ++tail) {         // lengths that leave a tail
      std::string bytes(shift, '\x11');
      bytes.resize(bytes.size() / size * size);
      for (uint64_t c = 0; c < codes; c += step) {
        uint64_t code = d == ckd::Dtype::kF32 ? (c << 16) | (c & 0xFFFF) : c;
        bytes.append(reinterpret_cast<const char*>(&code), size);
      }
      bytes.append(tail * size, '\0');
      auto got = ckd::count_values(d, bytes);
      auto want = reference(d, bytes);
      CAPTURE(ckd::dtype_name(d));
      CAPTURE(shift);
      CAPTURE(tail);
      CHECK(got.nan == want.nan);
      CHECK(got.inf == want.inf);
      CHECK(got.all_zero == want.all_zero);
    }
  }
}

}  // namespace

TEST_CASE("SWAR NaN/Inf counters agree with the scalar decoders on every code") {
  check_all_codes(ckd::Dtype::kF8_E4M3, 256, 1);
  check_all_codes(ckd::Dtype::kF8_E5M2, 256, 1);
  check_all_codes(ckd::Dtype::kF8_E4M3FNUZ, 256, 1);
  check_all_codes(ckd::Dtype::kBF16, 65536, 1);
  check_all_codes(ckd::Dtype::kF16, 65536, 1);
  check_all_codes(ckd::Dtype::kF32, 65536, 1);  // high and low halves both sweep all 16-bit codes
}

TEST_CASE("all-zero detection") {
  CHECK(ckd::count_values(ckd::Dtype::kBF16, std::string(64, '\0')).all_zero);
  std::string one(64, '\0');
  one[63] = 1;
  CHECK_FALSE(ckd::count_values(ckd::Dtype::kBF16, one).all_zero);
  CHECK_FALSE(ckd::count_values(ckd::Dtype::kU8, std::string("\0\0\x01", 3)).all_zero);
  CHECK(ckd::count_values(ckd::Dtype::kI32, std::string(12, '\0')).all_zero);
}

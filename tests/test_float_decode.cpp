// Our element decoders against tables computed by ml_dtypes/numpy (fixtures/oracle, written by
// scripts/make_oracle.py): every code of every encoding, bit for bit (NaN matches NaN).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <vector>

#include "fixture/fixture.h"
#include "numerics/float_decode.h"

namespace {

std::vector<float> oracle(const char* name) {
  std::ifstream in(std::string(CKD_SOURCE_DIR) + "/fixtures/oracle/" + name + ".f32",
                   std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "missing oracle table ", name);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

bool same(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  uint32_t x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return x == y;  // distinguishes +0 from -0
}

void check_table(const char* name, size_t codes, const std::function<float(uint32_t)>& decode) {
  auto expected = oracle(name);
  REQUIRE(expected.size() == codes);
  size_t mismatches = 0;
  for (uint32_t c = 0; c < codes; ++c) {
    if (!same(decode(c), expected[c])) {
      if (++mismatches <= 5)
        FAIL_CHECK(name, " code 0x", std::hex, c, ": got ", decode(c), ", ml_dtypes says ",
                   expected[c]);
    }
  }
  CHECK_MESSAGE(mismatches == 0, name, ": ", mismatches, " mismatching codes");
}

}  // namespace

TEST_CASE("8-bit float decoders match ml_dtypes for all 256 codes") {
  check_table("f8_e4m3fn", 256,
              [](uint32_t c) { return ckd::decode_f8_e4m3fn(static_cast<uint8_t>(c)); });
  check_table("f8_e5m2", 256,
              [](uint32_t c) { return ckd::decode_f8_e5m2(static_cast<uint8_t>(c)); });
  check_table("f8_e4m3fnuz", 256,
              [](uint32_t c) { return ckd::decode_f8_e4m3fnuz(static_cast<uint8_t>(c)); });
  check_table("f8_e5m2fnuz", 256,
              [](uint32_t c) { return ckd::decode_f8_e5m2fnuz(static_cast<uint8_t>(c)); });
  check_table("f8_e8m0fnu", 256,
              [](uint32_t c) { return ckd::decode_e8m0(static_cast<uint8_t>(c)); });
}

TEST_CASE("E2M1 decoder matches ml_dtypes float4_e2m1fn") {
  check_table("f4_e2m1fn", 16,
              [](uint32_t c) { return ckd::decode_e2m1(static_cast<uint8_t>(c)); });
}

TEST_CASE("16-bit float decoders match numpy and ml_dtypes for all 65536 codes") {
  check_table("bf16", 65536, [](uint32_t c) { return ckd::decode_bf16(static_cast<uint16_t>(c)); });
  check_table("f16", 65536, [](uint32_t c) { return ckd::decode_f16(static_cast<uint16_t>(c)); });
}

TEST_CASE("FORMATS.md landmarks") {
  CHECK(ckd::decode_f8_e4m3fn(0x7E) == 448.0f);
  CHECK(std::isnan(ckd::decode_f8_e4m3fn(0x7F)));
  CHECK(std::isnan(ckd::decode_f8_e4m3fn(0xFF)));
  CHECK(ckd::decode_f8_e4m3fnuz(0x7F) == 240.0f);
  CHECK(std::isnan(ckd::decode_f8_e4m3fnuz(0x80)));
  CHECK(ckd::decode_e8m0(0) == std::ldexp(1.0f, -127));  // 2^-127, not zero
  CHECK(ckd::decode_e8m0(127) == 1.0f);
  CHECK(std::isnan(ckd::decode_e8m0(0xFF)));
  CHECK(ckd::decode_e2m1(0x7) == 6.0f);
  CHECK(ckd::decode_e2m1(0x9) == -0.5f);
}

TEST_CASE("the fixture encoder inverts the decoders (round to nearest)") {
  auto code = [](ckd::Dtype d, double v) {
    return static_cast<uint8_t>(ckd::fixture::encode_value(d, v)[0]);
  };
  CHECK(code(ckd::Dtype::kF8_E4M3, 448) == 0x7E);
  CHECK(code(ckd::Dtype::kF8_E4M3, 1.0) == 0x38);
  CHECK(code(ckd::Dtype::kF8_E4M3, -2.0) == 0xC0);
  CHECK(code(ckd::Dtype::kF8_E8M0, 0.25) == 125);
  for (int c = 0; c < 256; ++c) {
    float v = ckd::decode_f8_e4m3fn(static_cast<uint8_t>(c));
    if (std::isnan(v) || c == 0x80) continue;  // NaN has two codes; -0 encodes as +0's twin
    CHECK(code(ckd::Dtype::kF8_E4M3, v) == c);
  }
}

#include "numerics/float_decode.h"

#include <array>
#include <cmath>
#include <cstring>
#include <limits>

namespace ckd {

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

float sign_of(uint32_t s, float v) {
  return s ? -v : v;
}

// Generic decoder for 8-bit minifloats: `ebits` exponent bits, `mbits` mantissa bits, `bias`.
float minifloat(uint8_t code, int ebits, int mbits, int bias) {
  uint32_t s = code >> (ebits + mbits);
  uint32_t e = (code >> mbits) & ((1u << ebits) - 1);
  uint32_t m = code & ((1u << mbits) - 1);
  float frac = static_cast<float>(m) / static_cast<float>(1u << mbits);
  if (e == 0) return sign_of(s, std::ldexp(frac, 1 - bias));
  return sign_of(s, std::ldexp(1.0f + frac, static_cast<int>(e) - bias));
}

template <typename F>
std::array<float, 256> make_table(F f) {
  std::array<float, 256> t{};
  for (int i = 0; i < 256; ++i) t[static_cast<size_t>(i)] = f(static_cast<uint8_t>(i));
  return t;
}

const std::array<float, 256> kE4M3FN =
    make_table([](uint8_t c) { return (c & 0x7F) == 0x7F ? kNaN : minifloat(c, 4, 3, 7); });
const std::array<float, 256> kE5M2 = make_table([](uint8_t c) {
  if (((c >> 2) & 0x1F) == 0x1F) return (c & 3) ? kNaN : sign_of(c >> 7, kInf);
  return minifloat(c, 5, 2, 15);
});
const std::array<float, 256> kE4M3FNUZ =
    make_table([](uint8_t c) { return c == 0x80 ? kNaN : minifloat(c, 4, 3, 8); });
const std::array<float, 256> kE5M2FNUZ =
    make_table([](uint8_t c) { return c == 0x80 ? kNaN : minifloat(c, 5, 2, 16); });
const std::array<float, 256> kE8M0 = make_table(
    [](uint8_t c) { return c == 0xFF ? kNaN : std::ldexp(1.0f, static_cast<int>(c) - 127); });

template <typename T>
T load_le(std::string_view bytes, uint64_t index) {
  T v;
  std::memcpy(&v, bytes.data() + index * sizeof(T), sizeof(T));
  return v;  // the project targets little-endian hosts (checked in CMake)
}

}  // namespace

float decode_f16(uint16_t bits) {
  uint32_t s = bits >> 15, e = (bits >> 10) & 0x1F, m = bits & 0x3FF;
  if (e == 0x1F) return m ? kNaN : sign_of(s, kInf);
  if (e == 0) return sign_of(s, std::ldexp(static_cast<float>(m), -24));
  return sign_of(s, std::ldexp(1.0f + static_cast<float>(m) / 1024.0f, static_cast<int>(e) - 15));
}

float decode_f8_e4m3fn(uint8_t code) {
  return kE4M3FN[code];
}
float decode_f8_e5m2(uint8_t code) {
  return kE5M2[code];
}
float decode_f8_e4m3fnuz(uint8_t code) {
  return kE4M3FNUZ[code];
}
float decode_f8_e5m2fnuz(uint8_t code) {
  return kE5M2FNUZ[code];
}
float decode_e8m0(uint8_t code) {
  return kE8M0[code];
}

float decode_e2m1(uint8_t nibble) {
  return e2m1_table()[nibble & 0x0F];
}

const std::array<float, 256>& f8_e4m3fn_table() {
  return kE4M3FN;
}

const std::array<float, 16>& e2m1_table() {
  static const std::array<float, 16> table = [] {
    constexpr std::array<float, 8> kMagnitude = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
    std::array<float, 16> t{};
    for (uint32_t c = 0; c < 16; ++c) t[c] = sign_of((c >> 3) & 1, kMagnitude[c & 7]);
    return t;
  }();
  return table;
}

std::optional<double> decode_element(Dtype dtype, std::string_view bytes, uint64_t i) {
  auto byte = [&] { return static_cast<uint8_t>(bytes[i]); };
  switch (dtype) {
    case Dtype::kBool:
    case Dtype::kU8:
      return byte();
    case Dtype::kI8:
      return static_cast<int8_t>(byte());
    case Dtype::kF8_E4M3:
      return decode_f8_e4m3fn(byte());
    case Dtype::kF8_E5M2:
      return decode_f8_e5m2(byte());
    case Dtype::kF8_E4M3FNUZ:
      return decode_f8_e4m3fnuz(byte());
    case Dtype::kF8_E5M2FNUZ:
      return decode_f8_e5m2fnuz(byte());
    case Dtype::kF8_E8M0:
      return decode_e8m0(byte());
    case Dtype::kI16:
      return load_le<int16_t>(bytes, i);
    case Dtype::kU16:
      return load_le<uint16_t>(bytes, i);
    case Dtype::kF16:
      return decode_f16(load_le<uint16_t>(bytes, i));
    case Dtype::kBF16:
      return decode_bf16(load_le<uint16_t>(bytes, i));
    case Dtype::kI32:
      return load_le<int32_t>(bytes, i);
    case Dtype::kU32:
      return load_le<uint32_t>(bytes, i);
    case Dtype::kF32:
      return load_le<float>(bytes, i);
    case Dtype::kF64:
      return load_le<double>(bytes, i);
    case Dtype::kI64:
      return static_cast<double>(load_le<int64_t>(bytes, i));
    case Dtype::kU64:
      return static_cast<double>(load_le<uint64_t>(bytes, i));
    case Dtype::kF4:
    case Dtype::kF6_E2M3:
    case Dtype::kF6_E3M2:
    case Dtype::kC64:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace ckd

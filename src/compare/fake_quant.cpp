#include "compare/fake_quant.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "numerics/float_decode.h"

namespace ckd {

float round_to_dtype(Dtype dtype, float v) {
  if (dtype != Dtype::kBF16 || std::isnan(v)) return v;
  uint32_t u;
  std::memcpy(&u, &v, 4);
  u += 0x7FFFu + ((u >> 16) & 1u);  // to nearest, ties to even (overflow goes to inf, as torch)
  u &= 0xFFFF0000u;
  std::memcpy(&v, &u, 4);
  return v;
}

float round_to_e4m3(float v) {
  if (std::isnan(v)) return v;
  // Codes 0x00-0x7E are the non-negative finite values in increasing order.
  const std::array<float, 256>& table = f8_e4m3fn_table();
  const float a = std::fabs(v);
  const float* begin = table.data();
  const float* end = table.data() + 0x7F;
  const float* hi = std::lower_bound(begin, end, a);
  if (hi == end) return std::copysign(table[0x7E], v);
  if (hi == begin || *hi == a) return std::copysign(*hi, v);
  const float* lo = hi - 1;
  const float dl = a - *lo, dh = *hi - a;
  // A tie goes to the even code (mantissa bit 0 clear).
  const bool pick_hi = dh < dl || (dh == dl && ((hi - begin) & 1) == 0);
  return std::copysign(pick_hi ? *hi : *lo, v);
}

float round_to_e2m1(float v) {
  if (std::isnan(v)) return v;
  // quant_args.py FP4_E2M1_DATA.cast_to_fp4: the interval bounds, ties to the even code.
  const float a = std::fabs(v);
  float r;
  if (a <= 0.25f) r = 0.0f;
  else if (a < 0.75f) r = 0.5f;
  else if (a <= 1.25f) r = 1.0f;
  else if (a < 1.75f) r = 1.5f;
  else if (a <= 2.5f) r = 2.0f;
  else if (a < 3.5f) r = 3.0f;
  else if (a <= 5.0f) r = 4.0f;
  else r = 6.0f;
  return std::copysign(r, v);
}

Dtype FakeQuant::quotient_dtype() const {
  // torch.promote_types over BF16 and F32: BF16 only when both are.
  return weight == Dtype::kBF16 && scale == Dtype::kBF16 ? Dtype::kBF16 : Dtype::kF32;
}

float FakeQuant::apply(float x, float s_eff, float z) const {
  const Dtype d = quotient_dtype();
  float y = round_to_dtype(d, x / s_eff);
  if (zero_point) y = round_to_dtype(d, y + z);  // z.to(x.dtype): small integers, exact
  float q;
  switch (type) {
    case FakeQuantType::kFp8:
      q = round_to_e4m3(std::clamp(y, -448.0f, 448.0f));
      break;
    case FakeQuantType::kFp4:
      q = round_to_e2m1(std::clamp(y, -6.0f, 6.0f));
      break;
    default: {
      const auto half = static_cast<float>(1 << (bits - 1));
      q = std::nearbyint(std::clamp(y, -half, half - 1));  // torch.round: half to even
    }
  }
  // _dequantize: q.to(E) (exact: small integers and FP8/FP4 values), then in E.
  if (zero_point) q = round_to_dtype(scale, q - z);
  return round_to_dtype(scale, q * s_eff);
}

}  // namespace ckd

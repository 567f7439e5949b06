#include "compare/error_sums.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "numerics/vector_clones.h"
#include "numerics/float_decode.h"

namespace ckd {

namespace {

// Four float64 lanes (two SSE2 registers, one AVX2 register) and their masks; GCC/Clang vector
// extensions, so the same source builds for any target.
using V4d = double __attribute__((vector_size(32)));
using V4f = float __attribute__((vector_size(16)));
using V4i64 = long long __attribute__((vector_size(32)));
static_assert(ErrorSums::kLanes == 8, "the kernel below holds the lanes as two V4d");

// Rows with finite elements only (the rule): 8 elements per step, element c into lane c % 8.
// Lane by lane the operations are those of add_careful, in the same order, so both give the
// same sums bit for bit. No FMA: -std=c++20 (not gnu++) keeps GCC from contracting, and the
// clones do not enable it.
CKD_VECTOR_CLONES
void add_finite(const float* decoded, const float* source, uint64_t n, double* diff2, double* ref2,
                double* max_abs) {
  V4d d2a, d2b, r2a, r2b;
  std::memcpy(&d2a, diff2, 32);
  std::memcpy(&d2b, diff2 + 4, 32);
  std::memcpy(&r2a, ref2, 32);
  std::memcpy(&r2b, ref2 + 4, 32);
  V4d ma = {*max_abs, *max_abs, *max_abs, *max_abs}, mb = ma;
  const V4i64 abs_mask = {0x7fffffffffffffffLL, 0x7fffffffffffffffLL, 0x7fffffffffffffffLL,
                          0x7fffffffffffffffLL};
  for (uint64_t c = 0; c + 8 <= n; c += 8) {
    V4f df_a, df_b, wf_a, wf_b;
    std::memcpy(&df_a, decoded + c, 16);
    std::memcpy(&df_b, decoded + c + 4, 16);
    std::memcpy(&wf_a, source + c, 16);
    std::memcpy(&wf_b, source + c + 4, 16);
    V4d wa = __builtin_convertvector(wf_a, V4d), wb = __builtin_convertvector(wf_b, V4d);
    V4d xa = __builtin_convertvector(df_a, V4d) - wa, xb = __builtin_convertvector(df_b, V4d) - wb;
    d2a += xa * xa;
    d2b += xb * xb;
    r2a += wa * wa;
    r2b += wb * wb;
    V4d aa = (V4d)((V4i64)xa & abs_mask), ab = (V4d)((V4i64)xb & abs_mask);
    ma = aa > ma ? aa : ma;
    mb = ab > mb ? ab : mb;
  }
  std::memcpy(diff2, &d2a, 32);
  std::memcpy(diff2 + 4, &d2b, 32);
  std::memcpy(ref2, &r2a, 32);
  std::memcpy(ref2 + 4, &r2b, 32);
  for (int l = 0; l < 4; ++l) *max_abs = std::max({*max_abs, ma[l], mb[l]});
}

void bf16_to_float_portable(const unsigned char* bytes, uint64_t count, float* out) {
  for (uint64_t i = 0; i < count; ++i)
    out[i] = decode_bf16(static_cast<uint16_t>(bytes[2 * i] | (bytes[2 * i + 1] << 8)));
}

#if CKD_HAVE_AVX2_KERNELS
// BF16 is the top half of a float: 8 at a time, widened and shifted.
CKD_AVX2 void bf16_to_float_avx2(const unsigned char* bytes, uint64_t count, float* out) {
  uint64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + 2 * i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm256_slli_epi32(_mm256_cvtepu16_epi32(b), 16));
  }
  bf16_to_float_portable(bytes + 2 * i, count - i, out + i);
}
#endif

void bf16_to_float(const unsigned char* bytes, uint64_t count, float* out) {
#if CKD_HAVE_AVX2_KERNELS
  static const bool avx2 = cpu_has_avx2();
  if (avx2) return bf16_to_float_avx2(bytes, count, out);
#endif
  bf16_to_float_portable(bytes, count, out);
}

}  // namespace

void ErrorSums::add_row(const float* decoded, const float* source, uint64_t cols) {
  const uint64_t whole = cols / kLanes * kLanes;
  double d2[kLanes], r2[kLanes], m = max_abs;
  std::copy(diff2, diff2 + kLanes, d2);
  std::copy(ref2, ref2 + kLanes, r2);
  add_finite(decoded, source, whole, d2, r2, &m);
  bool finite = std::isfinite(m);
  for (int l = 0; l < kLanes; ++l) finite = finite && std::isfinite(d2[l]) && std::isfinite(r2[l]);
  if (finite) {
    // The earlier rows' sums are finite, so finite sums mean a row of finite elements (a
    // float's square cannot overflow a double, nor can 2^64 of them).
    std::copy(d2, d2 + kLanes, diff2);
    std::copy(r2, r2 + kLanes, ref2);
    max_abs = m;
    measured += whole;
  }
  // The careful path: the rest of the row, or the whole row when it holds a NaN or an Inf.
  for (uint64_t c = finite ? whole : 0; c < cols; ++c) {
    const float w = source[c], d = decoded[c];
    if (!std::isfinite(w)) {
      (std::isnan(w) ? source_nan : source_inf)++;
      continue;
    }
    if (!std::isfinite(d)) {
      (std::isnan(d) ? nan : inf)++;
      continue;
    }
    ++measured;
    const double x = static_cast<double>(d) - static_cast<double>(w);
    const double wd = static_cast<double>(w);
    diff2[c % kLanes] += x * x;
    ref2[c % kLanes] += wd * wd;
    max_abs = std::max(max_abs, std::fabs(x));
  }
}

double ErrorSums::diff2_total() const {
  double s = 0;
  for (double v : diff2) s += v;
  return s;
}

double ErrorSums::ref2_total() const {
  double s = 0;
  for (double v : ref2) s += v;
  return s;
}

void source_to_float(const unsigned char* bytes, Dtype dtype, uint64_t count, float* out) {
  if (dtype == Dtype::kBF16) {
    bf16_to_float(bytes, count, out);
  } else if (dtype == Dtype::kF16) {
    for (uint64_t i = 0; i < count; ++i)
      out[i] = decode_f16(static_cast<uint16_t>(bytes[2 * i] | (bytes[2 * i + 1] << 8)));
  } else {
    std::memcpy(out, bytes, count * 4);
  }
}

}  // namespace ckd

// The hot loops of compare (decode, source conversion, error sums) and of the scale statistics
// have AVX2 versions on x86-64, picked at run time by the CPU, while the build targets generic
// x86-64 (SSE2):
// CKD_VECTOR_CLONES builds a function twice (function multiversioning, an ifunc) for loops
// the compiler vectorizes from vector extensions; CKD_AVX2 marks a function written with AVX2
// intrinsics, called only when cpu_has_avx2(). No target here enables FMA, so every version
// computes the same floats.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && \
    (defined(__clang__) ? __clang_major__ >= 14 : __GNUC__ >= 8)
#include <immintrin.h>
#define CKD_HAVE_AVX2_KERNELS 1
#define CKD_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#define CKD_AVX2 __attribute__((target("avx2")))
namespace ckd {
inline bool cpu_has_avx2() {
  return __builtin_cpu_supports("avx2");
}
}  // namespace ckd
#else
#define CKD_HAVE_AVX2_KERNELS 0
#define CKD_VECTOR_CLONES
namespace ckd {
inline bool cpu_has_avx2() {
  return false;
}
}  // namespace ckd
#endif

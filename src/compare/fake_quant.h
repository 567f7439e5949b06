// compressed-tensors' fake quantization, element by element: what a module stored "dense"
// (save_compressed=False, quantization_status "frozen") gives when its 16/32-bit weight is run
// through its scale / zero point sidecars. The math and the dtype of every intermediate follow
// compressed_tensors/quantization/lifecycle/forward.py (`fake_quantize` -> `_quantize`,
// `_dequantize`) and quant_args.py (`round_to_quantized_type_args`, FP4_E2M1_DATA.cast_to_fp4):
//   s_eff = s / G                      (float32 when a global scale G exists, else s's dtype E)
//   y     = x / s_eff (+ z)            in D = torch's promotion of x's dtype and E
//   q     = round(clamp(y, qmin, qmax)) int: half to even; fp8: to E4M3; fp4: to E2M1
//   W^    = (q - z) * s_eff            in E
#pragma once

#include "safetensors/dtype.h"

namespace ckd {

enum class FakeQuantType { kInt, kFp8, kFp4 };

struct FakeQuant {
  FakeQuantType type = FakeQuantType::kInt;
  int bits = 8;                      // kInt
  Dtype weight = Dtype::kBF16;       // x's dtype: BF16 or F32
  Dtype scale = Dtype::kBF16;        // E: s_eff's dtype (F32 with a global scale)
  bool zero_point = false;           // z stored (asymmetric)

  // D: torch's result dtype of x / s_eff.
  Dtype quotient_dtype() const;
  // W^ for one element, s_eff and z of its group.
  float apply(float x, float s_eff, float z) const;
};

// Rounds a float to the nearest value of `dtype` (BF16 or F32; ties to even), as torch stores
// the result of an operation on tensors of that dtype.
float round_to_dtype(Dtype dtype, float v);
// Rounds to the nearest FP8 E4M3FN value (ties to even), |v| <= 448.
float round_to_e4m3(float v);
// Rounds to the nearest FP4 E2M1 value as cast_to_fp4 does (ties to even), |v| <= 6.
float round_to_e2m1(float v);

}  // namespace ckd

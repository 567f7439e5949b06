// The QuantizedMatrix of a module as the CUDA decoder's ModuleSpec (kernels/compare_cuda.h),
// for builds with the kernels.
#pragma once

#ifdef CKD_WITH_CUDA
#include "compare/quantized_matrix.h"
#include "compare_cuda.h"

namespace ckd {

cuda::ModuleSpec cuda_module_spec(const QuantizedMatrix& m, Dtype source);

}  // namespace ckd
#endif

// The CUDA side of `ckptdoctor compare`: the decode + error reduction of src/compare/ on a GPU.
// A plain C++ interface (no CUDA types), so the core library calls it only when the kernels were
// built (CKD_WITH_CUDA). The element tables are uploaded from src/numerics, the one definition;
// the decode mirrors decode_rows() (src/compare/quantized_matrix.cpp) operation for operation,
// compiled without FMA contraction, so decoded values are bit-identical to the CPU's.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "numerics/element_coding.h"

namespace ckd::cuda {

// The CPU's codings (src/numerics/element_coding.h), the one definition; the kernels decode those
// cuda_decodes() names and compare runs the others on the CPU.
using Coding = ::ckd::ElementCoding;
static_assert(static_cast<int>(Coding::kIntLegacy) == 4 && sizeof(Coding) == sizeof(int),
              "ModuleSpec carries the coding as the CPU defines it");
enum class SourceType : int { kBF16 = 0, kF16 = 1, kF32 = 2 };

struct ModuleSpec {
  Coding coding = Coding::kF8E4M3;
  int bits = 8;
  uint64_t cols = 0, row_bytes = 0;
  uint64_t block_rows = 1, block_cols = 1, scale_cols = 1;
  SourceType source = SourceType::kBF16;
};

// As the CPU's: measured counts the elements in the sums (source and decoded finite); a NaN/Inf
// source element is counted in source_nan/source_inf and left out.
struct Sums {
  double diff2 = 0, ref2 = 0, max_abs = 0;
  uint64_t measured = 0;
  uint64_t nan = 0, inf = 0;
  uint64_t source_nan = 0, source_inf = 0;
};

// True when a CUDA device can be used; `description` names it (or says why not).
bool device_available(std::string* description);

// One module on one device stream pair: two chunk slots in pinned memory, so the host fills one
// while the device works on the other.
class ModuleComparer {
 public:
  ModuleComparer(const ModuleSpec& spec, const std::vector<float>& scales,
                 const std::vector<float>& zeros, uint64_t chunk_rows);
  ~ModuleComparer();
  ModuleComparer(const ModuleComparer&) = delete;
  ModuleComparer& operator=(const ModuleComparer&) = delete;

  // Pinned host buffers of a slot: chunk_rows * row_bytes code bytes, chunk_rows * cols source
  // elements. Call wait(slot) before refilling one that was submitted.
  char* codes(int slot);
  char* source(int slot);
  void wait(int slot);
  // Copies the slot's rows [first_row, first_row + rows) to the device and reduces them.
  void submit(int slot, uint64_t first_row, uint64_t rows);
  // Waits for everything and returns the sums.
  Sums finish();
  // Tests: decodes the rows in slot 0's code buffer into `out` (synchronously).
  void decode(uint64_t first_row, uint64_t rows, float* out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace ckd::cuda

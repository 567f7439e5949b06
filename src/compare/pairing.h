// Which source tensor (or part of one) a quantized module came from (FORMATS.md §7): the same
// name, the name under the prefix change the key diff finds, or a slice of a fused expert
// tensor: Qwen3.5-MoE's [E, 2I, H] (gate rows, then up rows) and [E, H, I]; the transposed
// Qwen3-VL-MoE [E, H, 2I] and [E, I, H]; and gpt-oss, whose fused quantized experts meet a fused
// transposed source ([E, H, 2I] with gate/up interleaved on both sides).
#pragma once

#include <optional>
#include <string>

#include "checkpoint/key_map.h"

namespace ckd {

class Checkpoint;
struct TensorRef;

// Where element (e, r, c) of the decoded module (expert e, row r < rows, column c < cols) is in
// the source tensor, counted in elements: e * expert_stride + offset + (transposed
// ? c * ld + r : r * cols + c).
struct SourceSlice {
  std::string name;
  const TensorRef* ref = nullptr;
  uint64_t experts = 1, rows = 0, cols = 0;  // rows per expert
  uint64_t expert_stride = 0, offset = 0;
  bool transposed = false;
  uint64_t ld = 0;  // the source's last dimension, when transposed
};

// Rows [r, r + n) of the transposed view of `block` ([cols, ld] elements of `esz` bytes, as
// a transposed slice lies in its shard), row-major into `out` (n x cols elements).
void gather_transposed_rows(const char* block, uint64_t ld, uint64_t cols, uint64_t r,
                            uint64_t n, uint64_t esz, char* out);

struct Pairing {
  std::optional<SourceSlice> slice;
  std::string problem;  // why there is none
  // The source has no such tensor (a module it lacks): listed, not a failure. Any other problem
  // (unreadable, wrong shape) means the module could not be measured.
  bool absent = false;
};

class SourcePairer {
 public:
  SourcePairer(const Checkpoint& quantized, const Checkpoint& source);
  // The source of module `path`, which decodes to `experts` x [rows, cols]; `input_major`: the
  // decoded rows are the weight's input channels (GPTQ, AWQ GEMM store [in, out]), so the
  // [out, in] source is read transposed.
  Pairing pair(const std::string& path, uint64_t experts, uint64_t rows, uint64_t cols,
               bool input_major = false) const;
  const std::optional<PrefixChange>& prefix_change() const { return change_; }

 private:
  Pairing whole(const std::string& name, uint64_t experts, uint64_t rows, uint64_t cols) const;
  Pairing per_expert(const std::string& path, uint64_t rows, uint64_t cols) const;
  std::string mapped(const std::string& name) const;

  const Checkpoint& source_;
  std::optional<PrefixChange> change_;
};

}  // namespace ckd

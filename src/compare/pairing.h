// Which source tensor (or rows of one) a quantized module came from: the same name, the name
// under the prefix change the key diff finds, or a slice of a fused expert tensor (FORMATS.md
// §7: Qwen3.5-MoE's [E, 2I, H] gate_up_proj, gate rows first, and [E, H, I] down_proj).
#pragma once

#include <optional>
#include <string>

#include "checkpoint/key_map.h"

namespace ckd {

class Checkpoint;
struct TensorRef;

struct SourceSlice {
  std::string name;
  const TensorRef* ref = nullptr;
  uint64_t first_row = 0;  // in the source viewed as [rows_total, cols]
  uint64_t rows = 0, cols = 0;
};

struct Pairing {
  std::optional<SourceSlice> slice;
  std::string problem;  // why there is none
};

class SourcePairer {
 public:
  SourcePairer(const Checkpoint& quantized, const Checkpoint& source);
  // The source of module `path`'s weight, which decodes to [rows, cols].
  Pairing pair(const std::string& path, uint64_t rows, uint64_t cols) const;
  const std::optional<PrefixChange>& prefix_change() const { return change_; }

 private:
  Pairing whole(const std::string& name, uint64_t rows, uint64_t cols) const;
  Pairing fused_expert(const std::string& path, uint64_t rows, uint64_t cols) const;
  std::string mapped(const std::string& name) const;

  const Checkpoint& source_;
  std::optional<PrefixChange> change_;
};

}  // namespace ckd

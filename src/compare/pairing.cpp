#include "compare/pairing.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include <fmt/format.h>

#include "checkpoint/checkpoint.h"

namespace ckd {

namespace {

bool is_float_source(const TensorInfo& t) {
  return t.dtype == Dtype::kBF16 || t.dtype == Dtype::kF16 || t.dtype == Dtype::kF32;
}

std::string shape_text(std::span<const uint64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

// A tile of one cache line of each of up to 128 output rows is filled in L1 first, then each
// tile row is stored as one whole line: the block's rows, like the output's, usually lie a
// power of two apart, so writing down a column directly keeps evicting its own lines (they all
// fall in one cache set). 128 rows read 256 contiguous bytes of each BF16 source row per page
// touched; the next tile's stretches are prefetched while this one is copied.
template <uint64_t kBytes>
void gather_rows_of(const char* block, uint64_t ld, uint64_t cols, uint64_t r, uint64_t n,
                    char* out) {
  constexpr uint64_t kTileRows = 128, kTileCols = 64 / kBytes;
  alignas(64) char tile[kTileRows][64];
  for (uint64_t i0 = 0; i0 < n; i0 += kTileRows) {
    const uint64_t rows = std::min(kTileRows, n - i0);
    for (uint64_t c0 = 0; c0 < cols; c0 += kTileCols) {
      const uint64_t width = std::min(kTileCols, cols - c0);
      for (uint64_t c = 0; c < width; ++c) {
        const char* column = block + ((c0 + c) * ld + r + i0) * kBytes;
        if (c0 + kTileCols + c < cols) {  // the next tile's stretch of this column's row
          const char* next = column + kTileCols * ld * kBytes;
          for (uint64_t b = 0; b < rows * kBytes; b += 64) __builtin_prefetch(next + b);
        }
        for (uint64_t i = 0; i < rows; ++i)
          std::memcpy(&tile[i][c * kBytes], column + i * kBytes, kBytes);
      }
      for (uint64_t i = 0; i < rows; ++i)
        std::memcpy(out + ((i0 + i) * cols + c0) * kBytes, tile[i], width * kBytes);
    }
  }
}

}  // namespace

void gather_transposed_rows(const char* block, uint64_t ld, uint64_t cols, uint64_t r,
                            uint64_t n, uint64_t esz, char* out) {
  switch (esz) {  // a constant size makes each copy one load and one store, not a call
    case 2: return gather_rows_of<2>(block, ld, cols, r, n, out);
    case 4: return gather_rows_of<4>(block, ld, cols, r, n, out);
    case 1: return gather_rows_of<1>(block, ld, cols, r, n, out);
    default:
      for (uint64_t c = 0; c < cols; ++c) {
        for (uint64_t i = 0; i < n; ++i)
          std::memcpy(out + (i * cols + c) * esz, block + (c * ld + r + i) * esz, esz);
      }
  }
}

SourcePairer::SourcePairer(const Checkpoint& quantized, const Checkpoint& source)
    : source_(source), change_(diff_against_source(quantized, source).change) {}

std::string SourcePairer::mapped(const std::string& name) const {
  return change_ ? apply_prefix_change(name, *change_) : name;
}

// A source tensor holding the whole module: [rows, cols], or for fused experts [E, rows, cols]
// or transposed [E, cols, rows].
Pairing SourcePairer::whole(const std::string& name, uint64_t experts, uint64_t rows,
                            uint64_t cols) const {
  const TensorRef* ref = source_.find(name);
  if (!ref) return {std::nullopt, ""};
  const TensorInfo& t = *ref->info;
  if (!is_float_source(t) || !t.readable)
    return {std::nullopt, fmt::format("source {} is not a readable float tensor", name)};
  SourceSlice s{name, ref, experts, rows, cols, rows * cols, 0, false, 0};
  if (experts == 1 && t.shape == std::vector<uint64_t>{rows, cols}) return {s, ""};
  if (experts > 1 && t.shape == std::vector<uint64_t>{experts, rows, cols}) return {s, ""};
  if (experts > 1 && t.shape == std::vector<uint64_t>{experts, cols, rows}) {
    s.transposed = true;
    s.ld = rows;
    return {s, ""};
  }
  return {std::nullopt, fmt::format("source {} is {}, the module decodes to {}[{}, {}]", name,
                                    shape_text(t.shape),
                                    experts > 1 ? fmt::format("{} x ", experts) : "", rows, cols)};
}

// "<layer>.experts.<e>.<proj>" against a fused "<layer>.experts.gate_up_proj" / ".down_proj".
Pairing SourcePairer::per_expert(const std::string& path, uint64_t rows, uint64_t cols) const {
  constexpr std::string_view kExperts = ".experts.";
  size_t at = path.rfind(kExperts);
  if (at == std::string::npos) return {std::nullopt, ""};
  size_t id_start = at + kExperts.size(), id_end = id_start;
  while (id_end < path.size() && std::isdigit(static_cast<unsigned char>(path[id_end]))) ++id_end;
  if (id_end == id_start || id_end - id_start > 9 || id_end >= path.size() || path[id_end] != '.')
    return {std::nullopt, ""};
  uint64_t expert = std::stoull(path.substr(id_start, id_end - id_start));
  std::string proj = path.substr(id_end + 1);
  std::string layer = path.substr(0, at + kExperts.size() - 1);  // "...mlp.experts"
  bool gate = proj == "gate_proj" || proj == "w1", up = proj == "up_proj" || proj == "w3";
  bool down = proj == "down_proj" || proj == "w2";
  if (!gate && !up && !down) return {std::nullopt, ""};
  std::string name = mapped(layer + (down ? ".down_proj" : ".gate_up_proj"));
  const TensorRef* ref = source_.find(name);
  if (!ref) return {std::nullopt, ""};
  const TensorInfo& t = *ref->info;
  if (!is_float_source(t) || !t.readable || t.shape.size() != 3)
    return {std::nullopt, fmt::format("fused source {} is not a readable 3-D float tensor", name)};
  if (expert >= t.shape[0])
    return {std::nullopt, fmt::format("fused source {} has {} experts", name, t.shape[0])};
  uint64_t fused = down ? rows : 2 * rows;  // gate and up are concatenated: gate first
  uint64_t part = up ? rows : 0;
  std::string label = fmt::format("{}[{}]{}", name, expert, gate ? "[gate]" : up ? "[up]" : "");
  if (t.shape[1] == fused && t.shape[2] == cols) {  // [E, out, in]: rows
    return {SourceSlice{label, ref, 1, rows, cols, 0, (expert * fused + part) * cols, false, 0},
            ""};
  }
  if (t.shape[1] == cols && t.shape[2] == fused) {  // [E, in, out]: columns (Qwen3-VL-MoE)
    return {SourceSlice{label, ref, 1, rows, cols, 0, expert * cols * fused + part, true, fused},
            ""};
  }
  return {std::nullopt, fmt::format("fused source {} is {}, expert {} decodes to [{}, {}]", name,
                                    shape_text(t.shape), expert, rows, cols)};
}

Pairing SourcePairer::pair(const std::string& path, uint64_t experts, uint64_t rows,
                           uint64_t cols, bool input_major) const {
  if (input_major) {
    // Pair the logical [out, in] = [cols, rows], then read that row-major slice by columns.
    Pairing p = pair(path, experts, cols, rows);
    if (!p.slice) return p;
    if (experts != 1 || p.slice->transposed) {
      return {std::nullopt, fmt::format("source {} is stored [in, out] like the module; only an "
                                        "[out, in] source is paired with an [in, out] module",
                                        p.slice->name)};
    }
    p.slice->rows = rows;
    p.slice->cols = cols;
    p.slice->transposed = true;
    p.slice->ld = rows;
    return p;
  }
  // Per-module weights end in ".weight"; fused tensors (gpt-oss, Qwen3.5) are bare.
  std::vector<std::string> names = {path + ".weight", path};
  for (const std::string& name : names) {
    for (const std::string& candidate : {name, mapped(name)}) {
      Pairing p = whole(candidate, experts, rows, cols);
      if (p.slice || !p.problem.empty()) return p;
    }
  }
  if (experts == 1) {
    Pairing p = per_expert(path, rows, cols);
    if (p.slice || !p.problem.empty()) return p;
  }
  std::string name = mapped(names[0]);
  return {std::nullopt,
          fmt::format("no source tensor {}{}", name,
                      name == names[0] ? "" : fmt::format(" (from {})", names[0])),
          true};
}

}  // namespace ckd

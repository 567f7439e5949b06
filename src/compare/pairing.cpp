#include "compare/pairing.h"

#include <cctype>

#include <fmt/format.h>

#include "checkpoint/checkpoint.h"

namespace ckd {

namespace {

bool is_float_source(const TensorInfo& t) {
  return t.dtype == Dtype::kBF16 || t.dtype == Dtype::kF16 || t.dtype == Dtype::kF32;
}

std::string shape_text(const std::vector<uint64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

}  // namespace

SourcePairer::SourcePairer(const Checkpoint& quantized, const Checkpoint& source)
    : source_(source), change_(diff_against_source(quantized, source).change) {}

std::string SourcePairer::mapped(const std::string& name) const {
  return change_ ? apply_prefix_change(name, *change_) : name;
}

Pairing SourcePairer::whole(const std::string& name, uint64_t rows, uint64_t cols) const {
  const TensorRef* ref = source_.find(name);
  if (!ref) return {std::nullopt, ""};
  const TensorInfo& t = *ref->info;
  if (!is_float_source(t) || !t.readable)
    return {std::nullopt, fmt::format("source {} is not a readable float tensor", name)};
  if (t.shape.size() != 2 || t.shape[0] != rows || t.shape[1] != cols) {
    return {std::nullopt, fmt::format("source {} is {}, the module decodes to [{}, {}]", name,
                                      shape_text(t.shape), rows, cols)};
  }
  return {SourceSlice{name, ref, 0, rows, cols}, ""};
}

Pairing SourcePairer::fused_expert(const std::string& path, uint64_t rows, uint64_t cols) const {
  // "<layer>.experts.<e>.<proj>"
  constexpr std::string_view kExperts = ".experts.";
  size_t at = path.rfind(kExperts);
  if (at == std::string::npos) return {std::nullopt, ""};
  size_t id_start = at + kExperts.size(), id_end = id_start;
  while (id_end < path.size() && std::isdigit(static_cast<unsigned char>(path[id_end]))) ++id_end;
  if (id_end == id_start || id_end >= path.size() || path[id_end] != '.') return {std::nullopt, ""};
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
  uint64_t experts = t.shape[0];
  if (expert >= experts)
    return {std::nullopt, fmt::format("fused source {} has {} experts", name, experts)};
  // [E, out, in] (Qwen3.5-MoE: gate_up rows are gate then up) slices by rows.
  uint64_t fused_rows = down ? rows : 2 * rows;
  if (t.shape[1] == fused_rows && t.shape[2] == cols) {
    uint64_t first = expert * fused_rows + (up ? rows : 0);
    return {SourceSlice{fmt::format("{}[{}]{}", name, expert,
                                    gate ? "[gate]"
                                    : up ? "[up]"
                                         : ""),
                        ref, first, rows, cols},
            ""};
  }
  if (t.shape[1] == cols && t.shape[2] == fused_rows) {
    return {std::nullopt, fmt::format("fused source {} is {} (transposed, Qwen3-VL-MoE / gpt-oss "
                                      "layout): not compared yet",
                                      name, shape_text(t.shape))};
  }
  return {std::nullopt, fmt::format("fused source {} is {}, expert {} decodes to [{}, {}]", name,
                                    shape_text(t.shape), expert, rows, cols)};
}

Pairing SourcePairer::pair(const std::string& path, uint64_t rows, uint64_t cols) const {
  std::string name = path + ".weight";
  for (const std::string& candidate : {name, mapped(name)}) {
    Pairing p = whole(candidate, rows, cols);
    if (p.slice || !p.problem.empty()) return p;
  }
  Pairing p = fused_expert(path, rows, cols);
  if (p.slice || !p.problem.empty()) return p;
  return {std::nullopt, fmt::format("no source tensor {}{}", mapped(name),
                                    mapped(name) == name ? "" : fmt::format(" (from {})", name))};
}

}  // namespace ckd

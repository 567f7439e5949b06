#include "compare/layout.h"

#include <cstring>

#include <fmt/format.h>

#include "checkpoint/checkpoint.h"
#include "numerics/formats.h"

namespace ckd {

namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) {
  return (a + b - 1) / b;
}

// The block size along one axis of `extent` elements that gives `grid` blocks.
std::optional<uint64_t> block_for(uint64_t extent, uint64_t grid, uint64_t declared) {
  if (grid == 0 || extent == 0) return std::nullopt;
  if (grid == 1) return extent;
  if (grid == extent) return 1;
  if (declared > 0 && ceil_div(extent, declared) == grid) return declared;
  for (uint64_t b : {128, 64, 32, 16, 256}) {
    if (ceil_div(extent, b) == grid) return b;
  }
  return std::nullopt;
}

}  // namespace

std::string_view ref_bytes(const TensorRef& ref) {
  return ref.shard->tensor_bytes(*ref.info);
}

std::string fit_scale_grid(QuantizedMatrix& m, const Shape& scale_shape,
                           uint64_t declared_block_rows, uint64_t declared_block_cols) {
  std::vector<uint64_t> axes = scale_shape.vector();
  if (axes.size() == 4 && axes[1] == 1 && axes[3] == 1) axes = {axes[0], axes[2]};  // modelopt
  uint64_t grid_rows = 1, grid_cols = 1;
  if (axes.size() == 1) {
    if (axes[0] != 1 && axes[0] != m.rows) {
      return fmt::format("a 1-D scale of {} elements fits neither one tensor scale nor {} rows",
                         axes[0], m.rows);
    }
    grid_rows = axes[0];
  } else if (axes.size() == 2) {
    grid_rows = axes[0];
    grid_cols = axes[1];
  } else if (!axes.empty()) {
    return fmt::format("a scale of rank {} does not fit a 2-D weight", scale_shape.size());
  }
  auto br = block_for(m.rows, grid_rows, declared_block_rows);
  auto bc = block_for(m.cols, grid_cols, declared_block_cols);
  if (!br || !bc) {
    return fmt::format("a [{}, {}] scale grid does not tile a [{}, {}] weight", grid_rows,
                       grid_cols, m.rows, m.cols);
  }
  m.scale_rows = grid_rows;
  m.scale_cols = grid_cols;
  m.block_rows = *br;
  m.block_cols = *bc;
  return "";
}

std::string read_input_groups(QuantizedMatrix& m, const ModuleParam& g_idx, uint64_t in,
                              uint64_t groups, uint64_t group_size) {
  const TensorInfo& t = *g_idx.ref->info;
  if (t.dtype != Dtype::kI32 || !t.readable || t.shape.size() != 1 || t.shape[0] != in)
    return fmt::format("{} is not I32 [{}] (one group number per input channel)", t.name, in);
  std::string_view bytes = ref_bytes(*g_idx.ref);
  auto groups_of = std::make_shared<std::vector<uint32_t>>(in);
  bool contiguous = true;
  for (uint64_t i = 0; i < in; ++i) {
    int32_t v;
    std::memcpy(&v, bytes.data() + 4 * i, 4);
    if (v < 0 || static_cast<uint64_t>(v) >= groups)
      return fmt::format("{}[{}] = {} is outside [0, {})", t.name, i, v, groups);
    (*groups_of)[i] = static_cast<uint32_t>(v);
    contiguous = contiguous && static_cast<uint64_t>(v) == (group_size ? i / group_size : 0);
  }
  if (!contiguous) m.input_groups = std::move(groups_of);
  return "";
}

Layout packed_fp4_layout(const char* format, const ModuleParam& weight, const ModuleParam& scale,
                         uint64_t group) {
  const TensorInfo& wi = *weight.ref->info;
  const TensorInfo& si = *scale.ref->info;
  if (wi.dtype != Dtype::kU8 || wi.shape.size() != 2)
    return {std::nullopt, "the packed weight is not a 2-D U8 tensor"};
  QuantizedMatrix m;
  m.format = format;
  m.coding = ElementCoding::kE2M1Packed;
  m.rows = wi.shape[0];
  m.cols = wi.shape[1] * 2;
  m.codes = weight.ref;
  m.scales = scale.ref;
  m.scale_dtype = *si.dtype;
  std::string problem = fit_scale_grid(m, si.shape, 1, group);
  if (problem.empty() && m.block_cols % 2 != 0) problem = "odd block size for packed FP4";
  if (!problem.empty()) return {std::nullopt, problem};
  return {m, ""};
}

// The decoder comes from the format's row of the table (numerics/formats.h), and so does the
// roundtrip-error limit key the module is held to.
Layout describe_module(const Module& module) {
  if (!module.group) return {std::nullopt, "not quantized by the declaration"};
  const QuantGroup& g = *module.group;
  const WeightFormatTraits* traits = format_traits(g.format);
  if (!traits) return {std::nullopt, "the declared format is not modelled"};
  Layout layout;
  switch (traits->decoder) {
    case CompareDecoder::kFp8:
      layout = describe_fp8(module, g);
      break;
    case CompareDecoder::kNvfp4:
      layout = describe_nvfp4(module, g);
      break;
    case CompareDecoder::kMxfp4:
      layout = describe_mxfp4(module, g);
      break;
    case CompareDecoder::kInt:
      layout = describe_int(module, g);
      break;
    case CompareDecoder::kGptq:
      layout = describe_gptq(module, g);
      break;
    case CompareDecoder::kAwq:
      layout = describe_awq(module, g);
      break;
    case CompareDecoder::kBnb:
      layout = describe_bnb(module, g);
      break;
    case CompareDecoder::kMlx:
      layout = describe_mlx(module, g);
      break;
    case CompareDecoder::kSparse24:
      layout = describe_sparse24(module, g);
      break;
    case CompareDecoder::kNone:
      return {std::nullopt, fmt::format("{} weights are not compared yet", traits->name)};
  }
  if (layout.matrix) layout.matrix->format = traits->limit_key_for(layout.matrix->bits);
  return layout;
}

}  // namespace ckd

// compressed-tensors integers (FORMATS.md §4.5, §4.6): naive / int-quantized I8 weights, and
// pack-quantized 1-8 bit weights in I32 words (weight_packed + weight_shape), symmetric or with
// zero points; group or channel scales. W = (q - z) x s. Both packings are read: the dense one
// (current) and the older 32/bits-per-word one, which the packed row length tells apart (they
// coincide for 1, 2, 4 and 8 bits). A weight_g_idx (actorder group) maps columns to groups.
#include <fmt/format.h>

#include "checkpoint/checkpoint.h"
#include "compare/layout.h"
#include "numerics/float_decode.h"

namespace ckd {

namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) {
  return (a + b - 1) / b;
}

bool float_scale(const TensorInfo& t) {
  return t.dtype == Dtype::kF32 || t.dtype == Dtype::kBF16 || t.dtype == Dtype::kF16;
}

}  // namespace

Layout describe_int(const Module& module, const QuantGroup& group) {
  const ModuleParam* w = module.weight();
  const ModuleParam* s = module.first_with_role(TensorRole::kWeightScale);
  const ModuleParam* z = module.first_with_role(TensorRole::kZeroPoint);
  if (!w || !s) return {std::nullopt, "no weight or no weight scale"};
  const TensorInfo& wi = *w->ref->info;
  const TensorInfo& si = *s->ref->info;
  if (!float_scale(si)) return {std::nullopt, "the weight scale is not a float tensor"};
  QuantizedMatrix m;
  m.codes = w->ref;
  m.scales = s->ref;
  m.scale_dtype = *si.dtype;
  m.bits = group.bits;
  if (group.format == WeightFormat::kInt8 && wi.dtype == Dtype::kI8) {
    if (wi.shape.size() != 2) return {std::nullopt, "the weight is not a 2-D I8 tensor"};
    m.coding = ElementCoding::kInt8;
    m.bits = 8;
    m.rows = wi.shape[0];
    m.cols = wi.shape[1];
  } else {
    const ModuleParam* shape = module.first_with_role(TensorRole::kShape);
    if (wi.dtype != Dtype::kI32 || wi.shape.size() != 2 || !shape)
      return {std::nullopt, "no 2-D I32 weight_packed with its weight_shape"};
    const TensorInfo& shi = *shape->ref->info;
    if (!shi.readable || !shi.dtype || shi.numel != 2 ||
        (shi.dtype != Dtype::kI64 && shi.dtype != Dtype::kI32))
      return {std::nullopt, "weight_shape is not two readable integers"};
    std::string_view shape_bytes = ref_bytes(*shape->ref);
    auto out = decode_element(*shi.dtype, shape_bytes, 0),
         in = decode_element(*shi.dtype, shape_bytes, 1);
    if (!out || !in || *out != static_cast<double>(wi.shape[0]) || *in <= 0 || *in > 1e12)
      return {std::nullopt, "weight_shape disagrees with weight_packed"};
    if (m.bits < 1 || m.bits > 8)
      return {std::nullopt, fmt::format("{}-bit packing is not read", m.bits)};
    m.rows = wi.shape[0];
    m.cols = static_cast<uint64_t>(*in);
    auto b = static_cast<uint64_t>(m.bits);
    if (wi.shape[1] == ceil_div(m.cols * b, 32)) {
      m.coding = ElementCoding::kIntDense;
    } else if (wi.shape[1] == ceil_div(m.cols, 32 / b)) {
      m.coding = ElementCoding::kIntLegacy;
    } else {
      return {std::nullopt, fmt::format("{} words per row fit neither packing of {} {}-bit values",
                                        wi.shape[1], m.cols, m.bits)};
    }
  }
  m.format = fmt::format("int{}", m.bits);
  if (std::string problem = fit_scale_grid(m, si.shape, 0, group.group_size); !problem.empty())
    return {std::nullopt, problem};
  // actorder "group" saves weight_g_idx: column c uses scale column g_idx[c]
  // (compressed_tensors/quantization/lifecycle/forward.py _process_quantization with g_idx).
  if (const ModuleParam* g_idx = module.first_with_role(TensorRole::kGIdx)) {
    if (std::string problem =
            read_input_groups(m, *g_idx, m.cols, m.scale_cols, m.scale_cols > 1 ? m.block_cols : 0);
        !problem.empty())
      return {std::nullopt, problem};
  } else if (group.act_order) {
    return {std::nullopt, "actorder group is declared but there is no weight_g_idx"};
  }
  if (z) {
    const TensorInfo& zi = *z->ref->info;
    bool fits =
        m.coding == ElementCoding::kInt8
            ? zi.dtype == Dtype::kI8 && zi.numel == m.scale_rows * m.scale_cols
            : zi.dtype == Dtype::kI32 && zi.shape.size() == 2 && zi.shape[1] == m.scale_cols &&
                  zi.shape[0] == (m.coding == ElementCoding::kIntDense
                                      ? ceil_div(m.scale_rows * static_cast<uint64_t>(m.bits), 32)
                                      : ceil_div(m.scale_rows, 32 / static_cast<uint64_t>(m.bits)));
    if (!fits || !zi.readable) return {std::nullopt, "the zero point does not fit the scale grid"};
    m.zero_points = z->ref;
  } else if (!group.symmetric) {
    return {std::nullopt, "asymmetric quantization is declared but there is no zero point"};
  }
  return {m, ""};
}

}  // namespace ckd

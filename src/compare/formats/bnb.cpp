// bitsandbytes (FORMATS: bitsandbytes functional.py QuantState, backends/default/ops.py):
// - 4-bit NF4 / FP4: U8 [ceil(n/2), 1] codes of the flattened [out, in] weight, element 2k in
//   the high nibble; W = code[q] * absmax[i / blocksize] in float32 with the code of the quant
//   state's quant_type (what from_dict and the kernels use, whatever config.json says), the
//   absmax itself double-quantized when the state is nested.
// - LLM.int8: I8 [out, in] with F32 SCB [out], W = (q * SCB[row]) / 127.
#include <fmt/format.h>

#include "checkpoint/bnb_quant_state.h"
#include "checkpoint/checkpoint.h"
#include "compare/layout.h"

namespace ckd {

namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) {
  return (a + b - 1) / b;
}

bool f32_of(const ModuleParam* p, uint64_t numel) {
  return p && p->ref->info->dtype == Dtype::kF32 && p->ref->info->numel == numel &&
         p->ref->info->readable;
}

Layout describe_int8(const Module& module) {
  const ModuleParam* w = module.weight();
  const ModuleParam* scb = module.param("SCB");
  if (!w || !scb) return {std::nullopt, "no weight or no SCB"};
  const TensorInfo& wi = *w->ref->info;
  if (wi.dtype != Dtype::kI8 || wi.shape.size() != 2)
    return {std::nullopt, "the weight is not a 2-D I8 tensor"};
  if (!f32_of(scb, wi.shape[0]))
    return {std::nullopt, fmt::format("SCB is not {} F32 values (one per row)", wi.shape[0])};
  QuantizedMatrix m;
  m.coding = ElementCoding::kBnbInt8;
  m.bits = 8;
  m.rows = wi.shape[0];
  m.cols = wi.shape[1];
  m.codes = w->ref;
  m.scales = scb->ref;
  m.scale_dtype = Dtype::kF32;
  if (std::string problem = fit_scale_grid(m, {m.rows}, 1, m.cols); !problem.empty())
    return {std::nullopt, problem};
  return {m, ""};
}

Layout describe_4bit(const Module& module) {
  const ModuleParam* w = module.weight();
  const ModuleParam* qs = bnb_quant_state_param(module);
  const ModuleParam* absmax = module.param("weight.absmax");
  if (!w || !qs || !absmax) return {std::nullopt, "no weight, quant_state or absmax"};
  const TensorInfo& wi = *w->ref->info;
  if (wi.dtype != Dtype::kU8 || wi.shape.size() != 2 || wi.shape[1] != 1)
    return {std::nullopt, "the weight is not a U8 [n/2, 1] tensor"};
  if (!qs->ref->info->readable) return {std::nullopt, "the quant_state cannot be read"};
  BnbQuantStateParse parsed = parse_bnb_quant_state(ref_bytes(*qs->ref));
  if (!parsed.state) return {std::nullopt, "quant_state: " + parsed.error};
  const BnbQuantState& state = *parsed.state;
  if (state.shape.size() != 2) return {std::nullopt, "the quant_state shape is not [out, in]"};
  QuantizedMatrix m;
  m.rows = state.shape[0];
  m.cols = state.shape[1];
  // An odd row length would start rows inside a byte.
  if (m.cols % 2 != 0) return {std::nullopt, "an odd input dimension is not compared"};
  if (wi.shape[0] != state.numel / 2)
    return {std::nullopt,
            fmt::format("the weight holds {} bytes but the quant_state shape [{}, {}] "
                        "needs {}",
                        wi.shape[0], m.rows, m.cols, state.numel / 2)};
  const uint64_t blocks = ceil_div(state.numel, state.blocksize);
  m.coding = state.quant_type == "nf4" ? ElementCoding::kBnbNf4 : ElementCoding::kBnbFp4;
  m.bits = 4;
  m.codes = w->ref;
  m.scales = absmax->ref;
  // One flat row of absmax values; decode_rows indexes it by flat element.
  m.scale_rows = 1;
  m.scale_cols = blocks;
  m.block_rows = m.rows;
  m.block_cols = state.blocksize;
  if (state.nested) {
    const ModuleParam* nested = module.param("weight.nested_absmax");
    const ModuleParam* code = module.param("weight.nested_quant_map");
    const TensorInfo& ai = *absmax->ref->info;
    if (ai.dtype != Dtype::kU8 || ai.numel != blocks || !ai.readable)
      return {std::nullopt, fmt::format("absmax is not {} U8 codes", blocks)};
    if (!f32_of(nested, ceil_div(blocks, state.nested_blocksize)) || !f32_of(code, 256))
      return {std::nullopt, "nested_absmax or nested_quant_map does not fit the quant_state"};
    m.scale_dtype = Dtype::kU8;
    m.nested_absmax = nested->ref;
    m.nested_code = code->ref;
    m.nested_blocksize = state.nested_blocksize;
    m.nested_offset = state.nested_offset;
  } else {
    if (!f32_of(absmax, blocks))
      return {std::nullopt, fmt::format("absmax is not {} F32 values", blocks)};
    m.scale_dtype = Dtype::kF32;
  }
  return {m, ""};
}

}  // namespace

Layout describe_bnb(const Module& module, const QuantGroup& group) {
  return group.format == WeightFormat::kBnbInt8 ? describe_int8(module) : describe_4bit(module);
}

}  // namespace ckd

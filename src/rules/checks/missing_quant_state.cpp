// A bitsandbytes 4-bit weight whose quant state is missing or disagrees with it. transformers
// (quantizers/quantizer_bnb_4bit.py, integrations/bitsandbytes.py) rebuilds each Params4bit with
// QuantState.from_dict from "<module>.weight." + absmax, quant_map, nested_absmax,
// nested_quant_map and the packed JSON quant_state.bitsandbytes__<type> (bitsandbytes
// functional.py): a missing piece fails the load or leaves the weight unquantizable, and a state
// whose shape, block size or code disagrees with the stored bytes dequantizes garbage. Reads
// the quant state and quant_map bytes only (a few hundred bytes per module).
#include <cmath>
#include <cstring>

#include "checkpoint/bnb_quant_state.h"
#include "io/checked.h"
#include "numerics/bnb_codes.h"
#include "numerics/formats.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

// The block sizes bitsandbytes' 4-bit kernels take (functional.py quantize_4bit; 32 since 0.46).
bool valid_blocksize(uint64_t b) {
  return b >= 32 && b <= 4096 && (b & (b - 1)) == 0;
}

// Which code a stored quant_map holds: "nf4", "fp4", or "" (neither, or unreadable).
std::string_view code_of(const ModuleParam& quant_map) {
  const TensorInfo& t = *quant_map.ref->info;
  if (!t.readable || t.dtype != Dtype::kF32 || t.numel != 16) return "";
  std::string_view bytes = quant_map.ref->shard->tensor_bytes(t);
  if (bytes.size() != 64) return "";
  auto near = [&](const std::array<float, 16>& code) {
    for (size_t i = 0; i < 16; ++i) {
      float v;
      std::memcpy(&v, bytes.data() + 4 * i, 4);
      if (!(std::fabs(v - code[i]) < 1e-3f)) return false;  // the CPU table rounds FP4 to 1e-4
    }
    return true;
  };
  if (near(kBnbNf4Code)) return "nf4";
  if (near(kBnbFp4Code)) return "fp4";
  return "";
}

class MissingQuantStateCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    CappedEmitter out(ctx, 25);
    for (const Module& m : ctx.checkpoint().modules().modules()) {
      const QuantGroup* g = m.group;
      const ModuleParam* w = m.weight();
      if (!g || !w || !w->ref->info->dtype) continue;
      if (g->format != WeightFormat::kBnbNf4 && g->format != WeightFormat::kBnbFp4) continue;
      if (!weight_dtype_fits(g->format, *w->ref->info->dtype)) continue;  // unexpected dtype's
      check_module(m, *g, *w, out);
    }
    out.finish("bitsandbytes modules with a missing or inconsistent quant state");
  }

 private:
  static void check_module(const Module& m, const QuantGroup& g, const ModuleParam& w,
                           CappedEmitter& out) {
    const ModuleParam* state_param = bnb_quant_state_param(m);
    const ModuleParam* absmax = m.param("weight.absmax");
    const ModuleParam* quant_map = m.param("weight.quant_map");
    std::vector<std::string> missing;
    if (!state_param) missing.push_back("weight.quant_state.bitsandbytes__<nf4|fp4>");
    if (!absmax) missing.push_back("weight.absmax");
    if (!quant_map) missing.push_back("weight.quant_map");
    if (g.double_quant) {
      if (!m.param("weight.nested_absmax")) missing.push_back("weight.nested_absmax");
      if (!m.param("weight.nested_quant_map")) missing.push_back("weight.nested_quant_map");
    }
    if (!missing.empty()) {
      out.add(*w.ref, fmt::format("4-bit weight of {} has no {}{}; transformers cannot rebuild "
                                  "its QuantState (bitsandbytes from_dict) and the load fails",
                                  m.path, fmt::join(missing, ", "),
                                  g.double_quant && missing.size() <= 2 &&
                                          missing.front().starts_with("weight.nested")
                                      ? " (bnb_4bit_use_double_quant is declared)"
                                      : ""));
      if (!state_param) return;
    }
    const TensorInfo& si = *state_param->ref->info;
    if (!si.readable || si.dtype != Dtype::kU8 || si.shape.size() != 1) {
      out.add(*state_param->ref, "the quant state is not a readable 1-D U8 tensor of JSON bytes");
      return;
    }
    BnbQuantStateParse parsed = parse_bnb_quant_state(state_param->ref->shard->tensor_bytes(si));
    if (!parsed.state) {
      out.add(*state_param->ref, "the quant state is not one bitsandbytes wrote: " + parsed.error);
      return;
    }
    const BnbQuantState& s = *parsed.state;
    std::vector<std::string> wrong;
    std::string_view suffix = bnb_quant_state_suffix(state_param->name);
    if (suffix != s.quant_type)
      wrong.push_back(
          fmt::format("its name says {} but its quant_type is {}", suffix, s.quant_type));
    const Shape& ws = w.ref->info->shape;
    uint64_t bytes_needed = s.numel / 2 + s.numel % 2;
    if (ws.size() != 2 || ws[0] != bytes_needed || ws[1] != 1) {
      wrong.push_back(fmt::format("shape {} ({} values) needs the weight as [{}, 1] but it is {}",
                                  shape_string(s.shape), with_commas(s.numel), bytes_needed,
                                  shape_string(ws)));
    }
    if (!valid_blocksize(s.blocksize)) {
      wrong.push_back(
          fmt::format("blocksize {} is not one of bitsandbytes' (a power of two from "
                      "32 to 4096)",
                      s.blocksize));
    } else if (absmax) {
      uint64_t blocks = s.numel / s.blocksize + (s.numel % s.blocksize ? 1 : 0);
      const TensorInfo& ai = *absmax->ref->info;
      Dtype want = s.nested ? Dtype::kU8 : Dtype::kF32;
      if (ai.numel != blocks || ai.dtype != want) {
        wrong.push_back(fmt::format("absmax is {} {} but {} values in blocks of {} need {} {}{}",
                                    shape_string(ai.shape), ai.dtype ? dtype_name(*ai.dtype) : "?",
                                    with_commas(s.numel), s.blocksize, blocks, dtype_name(want),
                                    s.nested ? " codes (double quantization)" : " values"));
      }
      if (s.nested) check_nested(m, s, blocks, wrong);
    }
    if (g.double_quant && !s.nested)
      wrong.push_back("bnb_4bit_use_double_quant is declared but the state has no nested_*");
    if (quant_map) {
      const TensorInfo& qi = *quant_map->ref->info;
      if (qi.numel != 16 || qi.dtype != Dtype::kF32) {
        wrong.push_back(fmt::format("quant_map is {} {} but a 4-bit code is 16 F32 values",
                                    shape_string(qi.shape),
                                    qi.dtype ? dtype_name(*qi.dtype) : "?"));
      } else if (std::string_view code = code_of(*quant_map);
                 !code.empty() && code != s.quant_type) {
        wrong.push_back(
            fmt::format("quant_map holds the {} code but quant_type is {}: the kernels "
                        "decode every value with the wrong code",
                        code, s.quant_type));
      }
    }
    if (wrong.empty()) return;
    out.add(*state_param->ref,
            fmt::format("quant state of {} disagrees with the stored tensors: {}", m.path,
                        fmt::join(wrong, "; ")));
  }

  static void check_nested(const Module& m, const BnbQuantState& s, uint64_t blocks,
                           std::vector<std::string>& wrong) {
    if (!valid_blocksize(s.nested_blocksize)) {
      wrong.push_back(fmt::format("nested_blocksize {} is not a power of two from 32 to 4096",
                                  s.nested_blocksize));
      return;
    }
    uint64_t nested_blocks = blocks / s.nested_blocksize + (blocks % s.nested_blocksize ? 1 : 0);
    if (const ModuleParam* na = m.param("weight.nested_absmax")) {
      const TensorInfo& t = *na->ref->info;
      if (t.numel != nested_blocks || t.dtype != Dtype::kF32)
        wrong.push_back(
            fmt::format("nested_absmax is {} but {} absmax codes in blocks of {} need "
                        "{} F32 values",
                        shape_string(t.shape), blocks, s.nested_blocksize, nested_blocks));
    }
    if (const ModuleParam* nq = m.param("weight.nested_quant_map")) {
      const TensorInfo& t = *nq->ref->info;
      if (t.numel != 256 || t.dtype != Dtype::kF32)
        wrong.push_back(fmt::format("nested_quant_map is {} but an 8-bit code is 256 F32 values",
                                    shape_string(t.shape)));
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_missing_quant_state_check() {
  return std::make_unique<MissingQuantStateCheck>();
}

}  // namespace ckd

// Asymmetric GPTQ qzeros in v1 (checkpoint_format "gptq" or none) holding the underflow of a
// zero point 0. GPTQModel writes v1 by subtracting 0x11111111 (4-bit; 0x55555555 for 2-bit,
// 0x01010101 for 8-bit) from whole packed words (gptqmodel/utils/model.py
// convert_gptq_v2_to_v1_format_module), so a zero of 0 becomes 2^bits - 1 and borrows one from
// the next field up; its loader adds the same word back (convert_gptq_v1_to_v2_format_module),
// which restores every field exactly. vLLM's GPTQ kernel (csrc/quantization/gptq/q_gemm.cu, the
// only vLLM GPTQ path for asym: Marlin takes symmetric GPTQ only) adds 1 to each unpacked zero
// instead, reading 2^bits for the underflowed field and one less than stored for the field it
// borrowed from; ckptdoctor compare follows vLLM. A real zero is at most 2^bits - 1, stored as
// at most 2^bits - 2, so a field of 2^bits - 1 comes only from this underflow. 3-bit is left
// out: its fields straddle words and GPTQModel corrects them another way
// (_revert_gptq_v1_qzeros_correction). Reads only the qzeros bytes.
#include "io/checked.h"
#include "numerics/formats.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

struct Underflow {
  uint64_t underflowed = 0;  // fields stored as 2^bits - 1
  uint64_t misread = 0;      // fields a per-value +1 reads differently from the word-wide +1
  uint64_t fields = 0;
  uint64_t first_word = 0;
  uint32_t first_stored = 0;
};

// Compares, word by word, GPTQModel's reading (word + ones, wrapping like its int32 tensor)
// with vLLM's (each field + 1). bits divides 32.
std::optional<Underflow> scan_words(std::string_view bytes, int bits) {
  if (bytes.size() % 4 != 0) return std::nullopt;
  const uint32_t mask = (uint32_t{1} << bits) - 1;
  uint32_t ones = 0;
  for (int shift = 0; shift < 32; shift += bits) ones |= uint32_t{1} << shift;
  Underflow u;
  for (uint64_t w = 0; w * 4 < bytes.size(); ++w) {
    uint32_t word = 0;
    for (int b = 0; b < 4; ++b) word |= uint32_t{static_cast<uint8_t>(bytes[w * 4 + b])} << (8 * b);
    const uint32_t restored = word + ones;  // unsigned: wraps as the int32 add does
    for (int shift = 0; shift < 32; shift += bits) {
      const uint32_t stored = (word >> shift) & mask;
      ++u.fields;
      if (stored == mask) {
        if (!u.underflowed) {
          u.first_word = w;
          u.first_stored = word;
        }
        ++u.underflowed;
      }
      if (stored + 1 != ((restored >> shift) & mask)) ++u.misread;
    }
  }
  return u;
}

class GptqV1ZeroUnderflowCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    CappedEmitter out(ctx, 25);
    for (const Module& m : ck.modules().modules()) {
      const QuantGroup* g = m.group;
      if (!g || g->format != WeightFormat::kGptq || g->symmetric || g->zero_offset != 1) continue;
      if (g->bits != 2 && g->bits != 4 && g->bits != 8) continue;
      const ModuleParam* zeros = m.param("qzeros");
      if (!zeros) continue;
      const TensorInfo& t = *zeros->ref->info;
      // Unreadable or mistyped qzeros are other rules' findings (scale-shape-mismatch, dtype).
      if (!t.readable || t.dtype != Dtype::kI32) continue;
      std::optional<Underflow> u = scan_words(zeros->ref->shard->tensor_bytes(t), g->bits);
      if (!u || !u->underflowed) continue;
      const uint32_t top = (uint32_t{1} << g->bits) - 1;
      out.add(
          *zeros->ref,
          fmt::format("{} of {} {}-bit zero points are stored as {} (first in word {}: 0x{:08x}): "
                      "zero point 0 underflowed in GPTQModel's word-wide v1 encoding (zero - 1 "
                      "subtracted from whole words, borrowing from the next zero point up); "
                      "GPTQModel and transformers undo it, but vLLM and ckptdoctor compare add 1 "
                      "per zero point and read {} of them wrong; fix: re-save the quantized model "
                      "with checkpoint_format \"gptq_v2\", or requantize",
                      with_commas(u->underflowed), with_commas(u->fields), g->bits, top,
                      u->first_word, u->first_stored, with_commas(u->misread)));
    }
    out.finish("modules with underflowed v1 zero points");
  }
};

}  // namespace

std::unique_ptr<Check> make_gptq_v1_zero_underflow_check() {
  return std::make_unique<GptqV1ZeroUnderflowCheck>();
}

}  // namespace ckd

// GPTQ qzeros stored in the other zero-point convention than checkpoint_format declares
// (FAILURES.md part 3; vllm PR #38966, #26092): "gptq" (v1) stores zero - 1, "gptq_v2" the zero
// (GPTQModel utils/model.py convert_gptq_v1_to_v2_format adds 1 to every packed zero). A
// symmetric quantizer's zero is 2^(bits-1), so every stored value is 2^(bits-1) - 1 in v1 and
// 2^(bits-1) in v2; a loader reading the other convention shifts every weight by one step and
// the model emits one repeated token. Reads only the qzeros bytes.
#include "io/checked.h"
#include "numerics/formats.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

enum class StoredZeros { kUniformV1, kUniformV2, kOther, kUnreadable };

StoredZeros classify(const ModuleParam& zeros, int bits) {
  const TensorInfo& t = *zeros.ref->info;
  if (!t.readable || t.dtype != Dtype::kI32) return StoredZeros::kUnreadable;
  std::string_view bytes = zeros.ref->shard->tensor_bytes(t);
  const uint32_t v2 = uint32_t{1} << (bits - 1);
  const uint32_t v1 = v2 - 1;
  auto values = checked_mul(bytes.size(), 8);
  if (!values || bytes.empty()) return StoredZeros::kUnreadable;
  uint64_t count = *values / static_cast<uint64_t>(bits);
  std::optional<uint32_t> first = packed_value(bytes, 0, bits);
  if (!first || (*first != v1 && *first != v2)) return StoredZeros::kOther;
  for (uint64_t i = 1; i < count; ++i) {
    if (packed_value(bytes, i, bits) != first) return StoredZeros::kOther;
  }
  return *first == v1 ? StoredZeros::kUniformV1 : StoredZeros::kUniformV2;
}

class ZeroPointConventionCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    CappedEmitter out(ctx, 25);
    for (const Module& m : ck.modules().modules()) {
      const QuantGroup* g = m.group;
      if (!g || g->format != WeightFormat::kGptq || !g->symmetric) continue;
      const ModuleParam* zeros = m.param("qzeros");
      if (!zeros || g->bits < 2 || g->bits > 8) continue;
      StoredZeros stored = classify(*zeros, g->bits);
      bool declared_v1 = g->zero_offset == 1;
      bool other = (declared_v1 && stored == StoredZeros::kUniformV2) ||
                   (!declared_v1 && stored == StoredZeros::kUniformV1);
      if (!other) continue;
      uint32_t zero = uint32_t{1} << (g->bits - 1);
      out.add(*zeros->ref,
              fmt::format("every {}-bit zero point is stored as {} but checkpoint_format \"{}\" "
                          "stores the symmetric zero {} as {}: this is the {} convention; "
                          "loaders shift every weight by one step (one repeated token); fix: set "
                          "checkpoint_format to \"{}\" in {}",
                          g->bits, declared_v1 ? zero : zero - 1, declared_v1 ? "gptq" : "gptq_v2",
                          zero, declared_v1 ? zero - 1 : zero,
                          declared_v1 ? "gptq_v2" : "gptq (v1)", declared_v1 ? "gptq_v2" : "gptq",
                          ck.scheme().source_file));  // config.json or quantize_config.json
    }
    out.finish("modules with zero points in the other convention");
  }
};

}  // namespace

std::unique_ptr<Check> make_zero_point_convention_check() {
  return std::make_unique<ZeroPointConventionCheck>();
}

}  // namespace ckd

// A quantization declaration ckptdoctor does not model: reported, never guessed.
#include "rules/checks/util.h"

namespace ckd {
namespace {

class UnknownQuantMethodCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const QuantScheme& s = ctx.checkpoint().scheme();
    if (s.method == QuantMethod::kUnknown) {
      ctx.emit(
          s.source_file, "",
          fmt::format("quant_method \"{}\" is not one ckptdoctor models (fp8, compressed-tensors, "
                      "modelopt, mxfp4, gptq, awq, fbgemm_fp8, quark); quantization rules are "
                      "skipped for it",
                      s.method_name));
    }
    for (const std::string& problem : s.problems) ctx.emit(s.source_file, "", problem);
  }
};

}  // namespace

std::unique_ptr<Check> make_unknown_quant_method_check() {
  return std::make_unique<UnknownQuantMethodCheck>();
}

}  // namespace ckd

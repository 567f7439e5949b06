// The config declares multi-token-prediction layers but no MTP tensor exists (FAILURES.md K1).
#include "checkpoint/architecture.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

class MissingMtpLayersCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    auto mtp =
        config_uint(ck, {"num_nextn_predict_layers", "mtp_num_hidden_layers", "num_mtp_layers"});
    if (!mtp || *mtp == 0 || ck.tensor_names().empty()) return;
    // missing-tensor already lists the MTP tensors the modeled class lacks.
    const ArchitectureDiff& arch = ctx.architecture_diff();
    if (arch.modeled() && arch.missing_in_stack("mtp")) return;
    auto layers = config_uint(ck, {"num_hidden_layers"});
    std::string extra_layer = layers ? fmt::format("layers.{}.", *layers) : std::string();
    for (std::string_view name : ck.tensor_names()) {
      if (name.rfind("mtp.", 0) == 0 || name.find(".mtp.") != std::string::npos) return;
      if (!extra_layer.empty() && name.find(extra_layer) != std::string::npos) return;
    }
    ctx.emit(
        "config.json", "",
        fmt::format(
            "config declares {} MTP layer(s) but no mtp.* tensor (nor layer {}) exists; "
            "speculative decoding with MTP fails: copy them from the source or set the count to 0",
            *mtp, layers ? std::to_string(*layers) : std::string("N")));
  }
};

}  // namespace

std::unique_ptr<Check> make_missing_mtp_layers_check() {
  return std::make_unique<MissingMtpLayersCheck>();
}

}  // namespace ckd

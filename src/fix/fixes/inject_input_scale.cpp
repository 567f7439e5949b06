// --inject-input-scale [VALUE] (unsafe): the declaration says activations are quantized with a
// static scale, but modules carry none (FAILURES.md C1, C3), so vLLM reads zeros or garbage.
// Adds VALUE (default 1.0, the value users inject by hand) under the format's own name, in the
// dtype and shape the checkpoint's other input scales use (else the format's: modelopt F32 [],
// others F32 [1]), and records in each touched shard's __metadata__ that it was invented.
#include <cmath>
#include <cstring>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "fix/fix.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

std::string encode_scalar(Dtype dtype, float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  if (dtype == Dtype::kBF16) {
    uint32_t rounded = bits + 0x7fff + ((bits >> 16) & 1);  // round to nearest even
    uint16_t half = static_cast<uint16_t>(rounded >> 16);
    return std::string(reinterpret_cast<const char*>(&half), 2);
  }
  return std::string(reinterpret_cast<const char*>(&bits), 4);
}

struct Convention {
  Dtype dtype = Dtype::kF32;
  std::vector<uint64_t> shape;
};

// The dtype and shape of an existing input scale of this name, or the format's default.
Convention convention_for(const Checkpoint& ck, const std::string& param, QuantMethod method) {
  for (const Module& m : ck.modules().modules()) {
    const ModuleParam* p = m.param(param);
    if (!p || !p->ref->info->dtype || p->ref->info->numel != 1) continue;
    Dtype d = *p->ref->info->dtype;
    if (d == Dtype::kF32 || d == Dtype::kBF16) return {d, p->ref->info->shape.vector()};
  }
  if (method == QuantMethod::kModelOpt) return {Dtype::kF32, {}};
  return {Dtype::kF32, {1}};
}

class InjectInputScaleFix : public Fix {
 public:
  const char* name() const override { return "inject-input-scale"; }
  std::vector<std::string> repairs() const override { return {"missing-input-scale"}; }
  bool unsafe() const override { return true; }
  bool requested(const FixOptions& o) const override { return o.inject_input_scale.has_value(); }
  void enable(FixOptions&) const override {}  // never by --apply-safe

  void apply(FixContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint;
    const float value = *ctx.options.inject_input_scale;
    if (!(value > 0) || !std::isfinite(value))
      throw FixError(
          fmt::format("--inject-input-scale {}: the scale must be finite and > 0", value));
    // Output tensors by the source tensor they copy: the module's weight may have been renamed.
    std::unordered_map<const TensorInfo*, std::pair<OutputShard*, OutputTensor*>> output_of;
    ctx.plan.for_each_tensor([&](OutputShard& s, OutputTensor& t) {
      if (t.source) output_of[t.source] = {&s, &t};
    });
    std::map<OutputShard*, size_t> added_per_shard;
    FixSummary& summary = ctx.plan.summary(
        name(), "missing-input-scale",
        fmt::format("input scales invented (value {}, not calibrated)", value), true);
    for (const Module& m : ck.modules().modules()) {
      std::optional<std::string> missing = missing_input_scale(m, ck.scheme().method);
      if (!missing) continue;
      const std::string& param = *missing;
      const ModuleParam* w = m.weight();
      auto out = output_of.find(w->ref->info);
      if (out == output_of.end()) continue;  // the weight was dropped
      auto [shard, weight] = out->second;
      // The weight's output name minus its parameter: the module's (possibly renamed) path.
      std::string module_path =
          weight->name.substr(0, weight->name.size() - w->name.size() - (w->name.empty() ? 0 : 1));
      Convention c = convention_for(ck, param, ck.scheme().method);
      OutputTensor scale;
      scale.name = fmt::format("{}.{}", module_path, param);
      scale.dtype = c.dtype;
      scale.shape = c.shape;
      scale.bytes = encode_scalar(c.dtype, value);
      summary.add(fmt::format("{} = {} ({} {})", scale.name, value, dtype_name(c.dtype),
                              shape_string(c.shape)));
      shard->tensors.push_back(std::move(scale));
      ++added_per_shard[shard];
    }
    for (auto& [shard, count] : added_per_shard) {
      shard->metadata["ckptdoctor.invented"] = fmt::format(
          "{} input scale tensors set to {} by ckptdoctor fix --inject-input-scale; they are not "
          "calibrated",
          count, value);
    }
  }
};

}  // namespace

std::unique_ptr<Fix> make_inject_input_scale_fix() {
  return std::make_unique<InjectInputScaleFix>();
}

}  // namespace ckd

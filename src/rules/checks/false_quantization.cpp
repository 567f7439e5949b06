// The config declares quantization, but the targeted weights are still 16/32-bit floats (the
// "false FP8" of FAILURES.md A1-A6), or are stored in another format than declared (A2).

#include "numerics/formats.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

// compressed-tensors format "dense" (save_compressed=False, status "frozen"): the config has
// quantization groups, but the compressor never ran, so the weights are stored as 16/32-bit
// floats next to their scale / zero point sidecars (FAILURES.md A4). No group quantizes a
// stored weight, so the scheme "quantizes" nothing; the groups' dense_of says what it would.
void report_dense(const CheckContext& ctx) {
  const Checkpoint& ck = ctx.checkpoint();
  const QuantScheme& scheme = ck.scheme();
  size_t targeted = 0, dense = 0, with_sidecars = 0;
  uint64_t dense_bytes = 0;
  const TensorRef* example = nullptr;
  const QuantGroup* example_group = nullptr;
  for (const Module& m : ck.modules().modules()) {
    if (!m.is_linear() || m.ignored) continue;
    const QuantGroup* g = scheme.group_for(m.path, true);
    if (!g || g->dense_of == WeightFormat::kNone) continue;
    const ModuleParam* w = m.weight();
    if (!w || !w->ref->info->dtype) continue;
    ++targeted;
    if (!is_high_precision_float(*w->ref->info->dtype)) continue;
    ++dense;
    dense_bytes += w->ref->info->nbytes();
    with_sidecars += m.has_role(TensorRole::kWeightScale) ? 1 : 0;
    if (!example) example = w->ref, example_group = g;
  }
  if (dense == 0) return;
  ctx.emit(*example,
           fmt::format("{} declares compressed-tensors format \"dense\"{} with {} {}-bit weights: {} of {} "
                       "targeted modules store their weights uncompressed as {} ({} bytes){}. "
                       "\"dense\" / \"frozen\" means the quantization was never applied to the "
                       "stored weights (save_compressed=False): this is not a quantized "
                       "checkpoint, its disk size is not reduced, and `ckptdoctor compare` "
                       "measures what the sidecars would give; re-save with "
                       "save_compressed=True",
                       scheme.source_file,
                       scheme.status.empty()
                           ? ""
                           : fmt::format(" (quantization_status \"{}\")", scheme.status),
                       weight_format_name(example_group->dense_of), example_group->bits,
                       with_commas(dense),
                       with_commas(targeted), dtype_name(*example->info->dtype),
                       with_commas(dense_bytes),
                       with_sidecars == 0
                           ? ", without any scale"
                           : fmt::format(", {} of them next to weight_scale / weight_zero_point "
                                         "sidecars",
                                         with_commas(with_sidecars))));
}

class FalseQuantizationCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    const QuantScheme& scheme = ck.scheme();
    if (!scheme.quantizes()) {
      if (scheme.method == QuantMethod::kCompressedTensors) report_dense(ctx);
      return;
    }
    size_t targeted = 0, unquantized = 0, misformatted = 0;
    const TensorRef* unquantized_example = nullptr;
    const TensorRef* misformatted_example = nullptr;
    std::string misformat_detail;
    bool any_scale = false;
    for (const Module& m : ck.modules().modules()) {
      for (const auto& p : m.params) any_scale = any_scale || is_scale_role(p.role);
      if (!m.is_linear()) continue;
      const QuantGroup* g = m.group;
      if (!g) continue;
      const ModuleParam* w = m.weight();
      if (!w->ref->info->dtype) continue;
      Dtype d = *w->ref->info->dtype;
      ++targeted;
      // A format that keeps floats packed without scales (2:4 sparse values in `compressed`) is
      // stored as declared; its float `weight` is not.
      const WeightFormatTraits* traits = format_traits(g->format);
      const bool packed_floats = traits && traits->block_scale_dtypes.empty() &&
                                 w->role == TensorRole::kPackedWeight &&
                                 traits->weight_dtypes.contains(d);
      if (is_high_precision_float(d) && !packed_floats && !m.has_role(TensorRole::kWeightScale) &&
          !m.has_role(TensorRole::kGlobalScale)) {
        if (!unquantized_example) unquantized_example = w->ref;
        ++unquantized;
      } else if (!weight_dtype_fits(g->format, d)) {
        if (!misformatted_example) {
          misformatted_example = w->ref;
          misformat_detail =
              fmt::format("declared {} ({}) but stored as {}", weight_format_name(g->format),
                          expected_weight_dtypes(g->format), dtype_name(d));
        }
        ++misformatted;
      }
    }
    if (targeted == 0) return;
    const DtypeBytes target_bytes = count_target_dtype_bytes(ck);
    std::vector<std::string> shares;
    for (const auto& [dtype, bytes] : target_bytes.bytes)
      shares.push_back(fmt::format("{} {}", dtype, percent(bytes, target_bytes.total)));
    std::string histogram = fmt::format("targeted weight bytes: {}", fmt::join(shares, ", "));
    std::string declared = scheme.algo.empty()
                               ? scheme.method_name
                               : fmt::format("{} {}", scheme.method_name, scheme.algo);
    if (unquantized > 0) {
      std::string advice;
      if (unquantized == targeted && !any_scale) {
        advice =
            "no scale tensor exists: quantize before saving, or remove the stale "
            "quantization_config";
      } else if (unquantized == targeted) {
        advice =
            "scales were written but the weights were never compressed (save_compressed=False?)";
      } else {
        advice = fmt::format("quantize them or add them to {}",
                             scheme.ignore_key.empty() ? "the ignore list" : scheme.ignore_key);
      }
      ctx.emit(*unquantized_example,
               fmt::format("{} declares {} but {} of {} targeted modules are unquantized 16/32-bit "
                           "floats with no scales ({}); {}",
                           scheme.source_file, declared, with_commas(unquantized),
                           with_commas(targeted), histogram, advice));
    }
    if (misformatted > 0) {
      ctx.emit(*misformatted_example,
               fmt::format("{} of {} targeted modules are {} ({})", with_commas(misformatted),
                           with_commas(targeted), misformat_detail, histogram));
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_false_quantization_check() {
  return std::make_unique<FalseQuantizationCheck>();
}

}  // namespace ckd

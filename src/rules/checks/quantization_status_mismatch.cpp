// compressed-tensors `quantization_status` / `format` that disagree with what the files store
// (FAILURES.md part 3; transformers #47145). compressed-tensors (quantization/quant_config.py
// QuantizationStatus: initialized < calibration < frozen < compressed) records how far the
// lifecycle went: only "compressed" says the weights were written by the format's compressor.
// transformers' CompressedTensorsHfQuantizer runs ModelCompressor.decompress only for a
// "compressed" status; below it the model is taken as fake-quantized (dense weights, scales
// applied in the forward pass), so F8 / packed integer weights are loaded as if they were the
// values themselves and the output is garbage. And each format has its own parameter layout
// (compressors/*: pack-quantized, nvfp4- / mxfp4-pack-quantized write weight_packed; int-,
// float- and naive-quantized write weight), which vLLM's compressed_tensors schemes read by
// name: a module stored in the other layout does not load.
#include "numerics/formats.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

bool stored_compressed(const Module& m) {
  const ModuleParam* w = m.weight();
  if (!w || !w->ref->info->dtype) return false;
  return w->role == TensorRole::kPackedWeight || !is_high_precision_float(*w->ref->info->dtype);
}

bool packed_layout(WeightFormat f) {
  const WeightFormatTraits* t = format_traits(f);
  return t && t->packing != WeightPacking::kOnePerElement;
}

class QuantizationStatusMismatchCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    const QuantScheme& scheme = ck.scheme();
    if (scheme.method != QuantMethod::kCompressedTensors) return;
    report_status(ctx, ck, scheme);
    report_layout(ctx, ck, scheme);
  }

 private:
  // A status short of "compressed" over weights the compressor wrote.
  static void report_status(const CheckContext& ctx, const Checkpoint& ck,
                            const QuantScheme& scheme) {
    const std::string& status = scheme.status;
    if (status != "initialized" && status != "calibration" && status != "frozen") return;
    size_t targeted = 0, compressed = 0;
    const Module* example = nullptr;
    for (const Module& m : ck.modules().modules()) {
      if (!m.group || !m.weight()) continue;
      ++targeted;
      if (!stored_compressed(m)) continue;
      ++compressed;
      if (!example) example = &m;
    }
    if (compressed == 0) return;
    const ModuleParam* w = example->weight();
    ctx.emit(*w->ref,
             fmt::format("{} declares quantization_status \"{}\" but {} of {} targeted modules "
                         "store compressed {} weights ({} {}{}): transformers decompresses only "
                         "a \"compressed\" checkpoint, so it loads the codes as weight values "
                         "and skips the scales (garbage output); set quantization_status to "
                         "\"compressed\"",
                         scheme.source_file, status, with_commas(compressed), with_commas(targeted),
                         weight_format_name(example->group->format), example->path,
                         dtype_name(*w->ref->info->dtype),
                         example->has_role(TensorRole::kWeightScale) ? " with weight_scale" : ""));
  }

  // Modules stored in the other parameter layout than their group's format writes.
  static void report_layout(const CheckContext& ctx, const Checkpoint& ck,
                            const QuantScheme& scheme) {
    CappedEmitter out(ctx, static_cast<size_t>(ctx.param("max_findings", 25.0)));
    for (const Module& m : ck.modules().modules()) {
      const QuantGroup* g = m.group;
      if (!g || !m.is_linear()) continue;
      const ModuleParam* packed = m.param("weight_packed");
      const ModuleParam* plain = m.param("weight");
      bool wants_packed = packed_layout(g->format);
      std::string declared =
          scheme.declared_format.empty() ? weight_format_name(g->format) : scheme.declared_format;
      if (wants_packed && !packed && plain && plain->ref->info->dtype &&
          !is_high_precision_float(*plain->ref->info->dtype)) {
        out.add(*plain->ref,
                fmt::format("format \"{}\" stores weight_packed, but {} stores an unpacked {} "
                            "weight: the pack-quantized decompressor and vLLM's scheme find no "
                            "weight_packed (the layout of another format was saved under this "
                            "declaration)",
                            declared, m.path, dtype_name(*plain->ref->info->dtype)));
      } else if (!wants_packed && packed) {
        out.add(*packed->ref,
                fmt::format("format \"{}\" stores an unpacked weight, but {} stores "
                            "weight_packed: the declared format's decompressor and vLLM's "
                            "scheme find no weight (the config's format is not the one the "
                            "compressor used)",
                            declared, m.path));
      }
    }
    out.finish("modules stored in another layout than their format");
  }
};

}  // namespace

std::unique_ptr<Check> make_quantization_status_mismatch_check() {
  return std::make_unique<QuantizationStatusMismatchCheck>();
}

}  // namespace ckd

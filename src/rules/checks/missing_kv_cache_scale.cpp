// A quantized KV cache declared without its k_scale / v_scale on every attention layer, or
// with scales of a granularity the declaration does not allow (FAILURES.md part 3, C5/B6;
// SGLang PR #26436): engines then use 1.0 for a missing scale, or one head's scale for all, and
// the FP8 cache clips or loses precision silently. Declarations: compressed-tensors
// kv_cache_scheme (strategy "tensor" by default, "attn_head"), modelopt kv_cache_quant_algo /
// kv_cache_scheme (per tensor), Quark export.kv_cache_group (per_tensor only, quark.py
// QuarkKVCacheMethod). Names, as vLLM's weight_utils.py maybe_remap_kv_scale_name and
// quark.py get_cache_scale accept them, under attention module A:
//   A.k_scale / A.v_scale (compressed-tensors), A.k_proj.k_scale / A.v_proj.v_scale (modelopt),
//   A.attn.k_scale, A.kv_scale (deprecated, both), A.k_proj.output_scale /
//   A.v_proj.output_scale (Quark, older llm-compressor; Quark's older
//   A.k_proj.output_quantizer.scale).
// Attention layers come from the architecture model (its text stack's k_proj / fused qkv /
// MLA kv_a_proj_with_mqa), so linear-attention layers of hybrid models need none; without a
// model, from the checkpoint's own projections outside vision towers.
#include <map>
#include <set>

#include "checkpoint/architecture.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

constexpr std::string_view kKeyProjections[] = {"k_proj", "qkv_proj", "query_key_value",
                                                "kv_a_proj_with_mqa", "W_pack"};

std::string_view parent_of(std::string_view path) {
  size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

std::string_view last_of(std::string_view path) {
  size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

bool is_key_projection(std::string_view module) {
  std::string_view last = last_of(module);
  for (std::string_view k : kKeyProjections) {
    if (last == k) return true;
  }
  return false;
}

bool in_vision_tower(std::string_view path) {
  return path.find("visual") != std::string_view::npos ||
         path.find("vision") != std::string_view::npos ||
         path.find("audio") != std::string_view::npos;
}

struct AttentionLayer {
  bool mla = false;
  const TensorRef* anchor = nullptr;
  const TensorRef* k = nullptr;
  const TensorRef* v = nullptr;
};

// The attention modules (path -> layer), from the architecture model when it describes the
// checkpoint under the class's own names, else from the checkpoint's projections.
std::map<std::string, AttentionLayer, std::less<>> attention_layers(const CheckContext& ctx) {
  const Checkpoint& ck = ctx.checkpoint();
  std::map<std::string, AttentionLayer, std::less<>> layers;
  const ArchitectureDiff& arch = ctx.architecture_diff();
  bool use_model = arch.modeled() && arch.layout.empty();
  if (use_model) {
    for (const ExpectedTensor& t : arch.expected) {
      if (t.stack != "text" || t.optional || !t.name.ends_with(".weight")) continue;
      std::string_view module = parent_of(t.name);
      if (!is_key_projection(module)) continue;
      const Module* m = ck.modules().find(module);
      if (!m || !m->weight()) continue;  // missing: the architecture rules report it
      AttentionLayer& layer = layers[std::string(parent_of(module))];
      layer.mla = last_of(module) == "kv_a_proj_with_mqa";
      layer.anchor = m->weight()->ref;
    }
    return layers;
  }
  for (const Module& m : ck.modules().modules()) {
    if (!m.weight() || !is_key_projection(m.path) || in_vision_tower(m.path)) continue;
    AttentionLayer& layer = layers[std::string(parent_of(m.path))];
    layer.mla = last_of(m.path) == "kv_a_proj_with_mqa";
    layer.anchor = m.weight()->ref;
  }
  return layers;
}

class MissingKvCacheScaleCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    const QuantScheme& scheme = ck.scheme();
    if (!scheme.kv_cache) return;
    auto layers = attention_layers(ctx);
    if (layers.empty()) return;
    CappedEmitter out(ctx, static_cast<size_t>(ctx.param("max_findings", 25.0)));
    const std::string& strategy = scheme.kv_cache_strategy;
    std::optional<uint64_t> kv_heads =
        config_uint(ck, {"num_key_value_heads", "num_attention_heads"});
    for (const Module& m : ck.modules().modules()) {
      for (const ModuleParam& p : m.params) {
        if (p.role != TensorRole::kKvScale) continue;
        bool k = p.name == "k_scale" || p.name == "kv_scale";
        bool v = p.name == "v_scale" || p.name == "kv_scale";
        if (p.name == "output_scale" || p.name == "output_quantizer.scale") {
          k = last_of(m.path) == "k_proj";
          v = last_of(m.path) == "v_proj";
        }
        if (!k && !v) continue;
        // A.k_scale, or one module below A (A.k_proj.k_scale, A.attn.k_scale).
        auto it = layers.find(m.path);
        if (it == layers.end()) it = layers.find(parent_of(m.path));
        if (it == layers.end()) continue;
        if (k) it->second.k = p.ref;
        if (v) it->second.v = p.ref;
        check_granularity(out, *p.ref, strategy, kv_heads, scheme.kv_cache_key);
      }
    }
    for (const auto& [path, layer] : layers) {
      bool complete = layer.mla ? (layer.k || layer.v) : (layer.k && layer.v);
      if (complete) continue;
      std::string_view missing = layer.mla              ? "k_scale / v_scale"
                                 : !layer.k && !layer.v ? "k_scale and v_scale"
                                 : !layer.k             ? "k_scale"
                                                        : "v_scale";
      out.add(
          *layer.anchor,
          fmt::format("{} declares a quantized KV cache ({}) but attention layer {} has no "
                      "{}: engines fall back to a scale of 1.0 and the FP8 cache clips or "
                      "loses precision silently; calibrate the KV cache or drop {}",
                      scheme.source_file, scheme.kv_cache_key, path, missing, scheme.kv_cache_key));
    }
    out.finish("attention layers without KV-cache scales");
  }

 private:
  static void check_granularity(CappedEmitter& out, const TensorRef& ref,
                                const std::string& strategy, std::optional<uint64_t> kv_heads,
                                const std::string& key) {
    const TensorInfo& t = *ref.info;
    if (!t.shape_valid) return;
    uint64_t n = t.numel;
    if (strategy == "tensor" || strategy == "per_tensor") {
      if (n == 1) return;
      out.add(ref, fmt::format("{} holds {} values ({}) but {} declares one scale per tensor: "
                               "engines read a single value (one head's scale for all heads)",
                               t.name, with_commas(n), shape_string(t.shape), key));
    } else if (strategy == "attn_head" || strategy == "head") {
      if (n == 1 || (kv_heads && n == *kv_heads)) return;
      out.add(ref, fmt::format("{} holds {} values ({}) but {} declares one scale per KV head "
                               "({} heads)",
                               t.name, with_commas(n), shape_string(t.shape), key,
                               kv_heads ? fmt::format("{}", *kv_heads) : std::string("?")));
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_missing_kv_cache_scale_check() {
  return std::make_unique<MissingKvCacheScaleCheck>();
}

}  // namespace ckd

#include "checkpoint/module_table.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>

#include "checkpoint/checkpoint.h"
#include "io/parallel.h"
#include "io/text_hash.h"
#include "io/trace.h"

namespace ckd {

namespace {

struct ParamRole {
  std::string_view name;
  TensorRole role;
};

constexpr std::array<ParamRole, 43> kParams = {{
    {"weight", TensorRole::kWeight},
    {"weight_packed", TensorRole::kPackedWeight},
    {"weight_scale", TensorRole::kWeightScale},
    {"weight_scale_inv", TensorRole::kWeightScale},
    {"weight_scale_2", TensorRole::kGlobalScale},
    {"weight_global_scale", TensorRole::kGlobalScale},
    {"input_scale", TensorRole::kInputScale},
    {"input_global_scale", TensorRole::kInputScale},
    {"act_scale", TensorRole::kInputScale},
    // Devstral-style FP8 (Mistral's HF export) names the static activation scale so (vllm PR
    // #41982 maps it onto input_scale).
    {"activation_scale", TensorRole::kInputScale},
    {"weight_zero_point", TensorRole::kZeroPoint},
    {"input_zero_point", TensorRole::kZeroPoint},
    {"weight_g_idx", TensorRole::kGIdx},
    {"weight_shape", TensorRole::kShape},
    {"k_scale", TensorRole::kKvScale},
    {"v_scale", TensorRole::kKvScale},
    {"q_scale", TensorRole::kKvScale},
    {"kv_scale", TensorRole::kKvScale},
    {"output_scale", TensorRole::kKvScale},
    {"prob_output_scale", TensorRole::kKvScale},  // Quark attention probabilities (quark.py)
    {"bias", TensorRole::kBias},
    // GPTQ / AWQ (GPTQModel nn_modules/qlinear/__init__.py, AutoAWQ awq/modules/linear/gemm.py).
    {"qweight", TensorRole::kPackedWeight},
    {"qzeros", TensorRole::kZeroPoint},
    {"scales", TensorRole::kWeightScale},
    {"g_idx", TensorRole::kGIdx},
    // Older AMD Quark exports keep the quantizer modules' state_dict names (transformers
    // quantizers/quantizer_quark.py CHECKPOINT_KEYS maps weight_scale <-> weight_quantizer.scale).
    {"weight_quantizer.scale", TensorRole::kWeightScale},
    {"weight_quantizer.zero_point", TensorRole::kZeroPoint},
    {"input_quantizer.scale", TensorRole::kInputScale},
    {"input_quantizer.zero_point", TensorRole::kZeroPoint},
    {"output_quantizer.scale", TensorRole::kKvScale},
    {"output_quantizer.zero_point", TensorRole::kZeroPoint},
    {"bias_quantizer.scale", TensorRole::kOther},
    {"bias_quantizer.zero_point", TensorRole::kOther},
    // bitsandbytes (nn/modules.py Linear4bit / Linear8bitLt _save_to_state_dict): the 4-bit
    // quant state is saved as "weight." + QuantState.as_dict(packed=True) keys.
    {"weight.absmax", TensorRole::kWeightScale},
    {"weight.nested_absmax", TensorRole::kGlobalScale},
    {"weight.quant_map", TensorRole::kOther},
    {"weight.nested_quant_map", TensorRole::kOther},
    {"SCB", TensorRole::kWeightScale},
    {"weight_format", TensorRole::kOther},
    // MLX affine (mlx/nn/layers/quantized.py): W = q * scales + biases, per group.
    {"biases", TensorRole::kZeroPoint},
    // compressed-tensors sparse-24-bitmask (0.14.0.1 sparse_compressors/sparse_24_bitmask.py
    // Sparse24BitMaskTensor.dict): the module's weight becomes these three.
    {"compressed", TensorRole::kPackedWeight},
    {"bitmask", TensorRole::kSparsityMask},
    {"shape", TensorRole::kShape},
}};

// A row left out of a longer std::array would be an unnamed kWeight that every bare name matches.
constexpr bool every_param_named() {
  for (const auto& p : kParams) {
    if (p.name.empty()) return false;
  }
  return true;
}
static_assert(every_param_named(), "kParams' size must match its rows");

// The current name of each older Quark quantizer parameter, so checks asking for weight_scale
// or input_scale find either spelling.
constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kQuarkLegacyNames = {{
    {"weight_scale", "weight_quantizer.scale"},
    {"weight_zero_point", "weight_quantizer.zero_point"},
    {"input_scale", "input_quantizer.scale"},
    {"input_zero_point", "input_quantizer.zero_point"},
    {"output_scale", "output_quantizer.scale"},
    {"output_zero_point", "output_quantizer.zero_point"},
}};
// Module::param_lengths' bit for a name of `size` bytes (bit 63: 63 or more).
constexpr uint64_t name_length_bit(size_t size) {
  return uint64_t{1} << std::min<size_t>(size, 63);
}
// The lengths of the legacy names, as Module::param_lengths has them.
constexpr uint64_t kQuarkLegacyLengths = [] {
  uint64_t mask = 0;
  for (const auto& [current, legacy] : kQuarkLegacyNames) mask |= name_length_bit(legacy.size());
  return mask;
}();

// kParams by name. Every tensor name of a scan is split (several times: the module table, the
// architecture diff, the rules): most probes are rejected by their length alone.
constexpr uint64_t kParamLengths = [] {
  uint64_t mask = 0;
  for (const auto& p : kParams) mask |= uint64_t{1} << p.name.size();
  return mask;
}();
static_assert([] {
  for (const auto& p : kParams)
    if (p.name.size() >= 64) return false;
  return true;
}(), "kParamLengths has a bit per length below 64");

// The rows of each length (at most kPerLength of them), so a probe compares only names of its
// own length, and their first and last characters before the rest.
constexpr size_t kPerLength = 6;
struct LengthBucket {
  uint8_t count = 0;
  std::array<uint8_t, kPerLength> rows{};
};
constexpr std::array<LengthBucket, 64> kParamsByLength = [] {
  std::array<LengthBucket, 64> buckets{};
  for (size_t i = 0; i < kParams.size(); ++i) {
    LengthBucket& b = buckets[kParams[i].name.size()];
    if (b.count == kPerLength) throw "kPerLength is too small for kParams";  // compile error
    b.rows[b.count++] = static_cast<uint8_t>(i);
  }
  return buckets;
}();

const ParamRole* find_param(std::string_view name) {
  if (name.size() >= 64 || !((kParamLengths >> name.size()) & 1)) return nullptr;
  const LengthBucket& bucket = kParamsByLength[name.size()];
  for (size_t k = 0; k < bucket.count; ++k) {
    const ParamRole& p = kParams[bucket.rows[k]];
    if (p.name.front() == name.front() && p.name.back() == name.back() && p.name == name) return &p;
  }
  return nullptr;
}

// bitsandbytes' packed quant state "weight.quant_state.bitsandbytes__<type>" (functional.py
// QuantState.as_dict(packed=True)).
constexpr std::string_view kBnbQuantStatePrefix = "weight.quant_state.bitsandbytes__";

bool contains_segment(std::string_view path, std::string_view segment) {
  size_t at = 0;
  while ((at = path.find(segment, at)) != std::string_view::npos) {
    bool start_ok = at == 0 || path[at - 1] == '.';
    size_t end = at + segment.size();
    bool end_ok = end == path.size() || path[end] == '.';
    if (start_ok && end_ok) return true;
    at = end;
  }
  return false;
}

// Sidecars of a fused experts tensor, "<fused>_<suffix>": llmcompressor's repack_moe writes
// the per-expert weight_* qparams as {gate_up,up,down}_proj_{scale,zero_point,global_scale,
// shape,g_idx} (llmcompressor/modeling/moe/linear_experts.py, _pack_weight_qparams), modelopt
// fused-expert exports gate_up_proj_scale / _scale_2 / _input_scale, block-FP8 releases
// gate_up_proj_scale_inv. Longest suffix first: "_scale_2" before "_scale".
constexpr std::array<ParamRole, 9> kFusedSidecars = {{
    {"input_global_scale", TensorRole::kInputScale},
    {"global_scale", TensorRole::kGlobalScale},
    {"input_scale", TensorRole::kInputScale},
    {"zero_point", TensorRole::kZeroPoint},
    {"scale_inv", TensorRole::kWeightScale},
    {"scale_2", TensorRole::kGlobalScale},
    {"g_idx", TensorRole::kGIdx},
    {"shape", TensorRole::kShape},
    {"scale", TensorRole::kWeightScale},
}};

// How every scale-role parameter name ends: a tensor name ending otherwise is no scale, whatever
// split_tensor_name and role_of_param make of it (role_of_param's fallback "scales" included).
constexpr std::array<std::string_view, 6> kScaleEndings = {"scale",  "scales", "scale_inv",
                                                           "scale_2", "absmax", "SCB"};
constexpr bool has_scale_ending(std::string_view name) {
  for (std::string_view ending : kScaleEndings)
    if (name.ends_with(ending)) return true;
  return false;
}
// The bytes a scale ending ends with.
constexpr std::array<bool, 256> kScaleLastBytes = [] {
  std::array<bool, 256> last{};
  for (std::string_view ending : kScaleEndings)
    last[static_cast<unsigned char>(ending.back())] = true;
  return last;
}();
static_assert([] {
  for (const auto& p : kParams)
    if (is_scale_role(p.role) && !has_scale_ending(p.name)) return false;
  for (const auto& p : kFusedSidecars)
    if (is_scale_role(p.role) && !has_scale_ending(p.name)) return false;
  return has_scale_ending("scales");
}(), "a scale parameter's name ends otherwise: extend kScaleEndings");

// The last '.' of text[0, end), or npos: memrchr (16 bytes a step) where glibc has it, for the
// split of every tensor name (string_view::rfind tests a byte at a time).
size_t last_dot(std::string_view text, size_t end) {
  if (end == 0) return std::string_view::npos;  // (a default view's data is null)
#if defined(__GLIBC__)
  const void* at = memrchr(text.data(), '.', end);
  return at ? static_cast<size_t>(static_cast<const char*>(at) - text.data())
            : std::string_view::npos;
#else
  return text.rfind('.', end - 1);
#endif
}

}  // namespace

const char* tensor_role_name(TensorRole role) {
  switch (role) {
    case TensorRole::kWeight:
      return "weight";
    case TensorRole::kPackedWeight:
      return "packed weight";
    case TensorRole::kWeightScale:
      return "weight scale";
    case TensorRole::kGlobalScale:
      return "global scale";
    case TensorRole::kInputScale:
      return "input scale";
    case TensorRole::kZeroPoint:
      return "zero point";
    case TensorRole::kGIdx:
      return "g_idx";
    case TensorRole::kShape:
      return "shape";
    case TensorRole::kSparsityMask:
      return "sparsity mask";
    case TensorRole::kKvScale:
      return "KV scale";
    case TensorRole::kBias:
      return "bias";
    case TensorRole::kOther:
      return "other";
  }
  return "?";
}

bool may_name_scale(std::string_view tensor_name) {
  // The last byte rules out most names (weights, biases) before any ending is compared.
  return !tensor_name.empty() && kScaleLastBytes[static_cast<unsigned char>(tensor_name.back())] &&
         has_scale_ending(tensor_name);
}

namespace {

// split_tensor_name, and the table row its parameter was found in (nullptr when it was not
// looked up there): role_of_param need not search for it again.
struct NameSplit {
  std::string_view module, param;
  const ParamRole* row = nullptr;
};

NameSplit split_name(std::string_view name) {
  size_t dot = last_dot(name, name.size());
  if (dot == std::string_view::npos) return {name, std::string_view()};
  std::string_view last = name.substr(dot + 1);
  if (dot > 0) {
    // Two-segment parameters: "x.weight_quantizer.scale" (older Quark exports), bitsandbytes'
    // "x.weight.absmax" (its 4-bit state, named "weight." + QuantState.as_dict(packed=True) keys).
    size_t before = last_dot(name, dot);
    if (before != std::string_view::npos) {
      if (const ParamRole* row = find_param(name.substr(before + 1)))
        return {name.substr(0, before), name.substr(before + 1), row};
    }
    // bitsandbytes' packed quant state: "x.weight.quant_state.bitsandbytes__nf4".
    constexpr std::string_view kStateOwner = ".weight.quant_state";
    constexpr std::string_view kStateType = kBnbQuantStatePrefix.substr(kStateOwner.size());
    std::string_view owner = name.substr(0, dot);
    if (last.size() > kStateType.size() && last.starts_with(kStateType) &&
        owner.size() > kStateOwner.size() && owner.ends_with(kStateOwner)) {
      size_t module_end = owner.size() - kStateOwner.size();
      return {name.substr(0, module_end), name.substr(module_end + 1)};
    }
  }
  if (const ParamRole* row = find_param(last)) return {name.substr(0, dot), last, row};
  // Fused experts: experts.gate_up_proj_scale -> module experts.gate_up_proj, parameter
  // "scale" (only under an experts segment, only for a *_proj stem).
  if (contains_segment(name.substr(0, dot), "experts")) {
    for (const auto& sidecar : kFusedSidecars) {
      size_t n = sidecar.name.size();
      if (last.size() > n + 1 && last.ends_with(sidecar.name) && last[last.size() - n - 1] == '_' &&
          last.substr(0, last.size() - n - 1).ends_with("_proj")) {
        return {name.substr(0, name.size() - n - 1), name.substr(name.size() - n)};
      }
    }
  }
  // gpt-oss: experts.gate_up_proj_blocks -> module experts.gate_up_proj, parameter "blocks".
  for (std::string_view suffix : {"_blocks", "_scales", "_bias"}) {
    if (last.ends_with(suffix) && last.size() > suffix.size()) {
      return {name.substr(0, name.size() - suffix.size()),
              name.substr(name.size() - suffix.size() + 1)};
    }
  }
  return {name, std::string_view()};
}

}  // namespace

std::pair<std::string_view, std::string_view> split_tensor_name(std::string_view name) {
  const NameSplit split = split_name(name);
  return {split.module, split.param};
}

SplitTensorName split_tensor_name_with_role(std::string_view name) {
  const NameSplit split = split_name(name);
  return {split.module, split.param,
          split.row ? split.row->role : role_of_param(split.param, split.module)};
}

TensorRole role_of_param(std::string_view param, std::string_view module) {
  if (const ParamRole* p = find_param(param)) return p->role;
  if (param.starts_with(kBnbQuantStatePrefix)) return TensorRole::kOther;
  if (module.ends_with("_proj") && contains_segment(module, "experts")) {
    for (const auto& sidecar : kFusedSidecars) {
      if (sidecar.name == param) return sidecar.role;
    }
  }
  if (param == "blocks") return TensorRole::kPackedWeight;
  if (param == "scales") return TensorRole::kWeightScale;
  if (param.empty() && module.ends_with("_proj")) return TensorRole::kWeight;  // fused experts
  return TensorRole::kOther;
}

namespace {

// Whether `text` holds `word` anywhere (contains_segment wants a whole segment): a loop over the
// few bytes of a segment, the word compared inline (string_view::find calls memchr and memcmp,
// dearer than the search on 10 bytes).
template <size_t N>
bool contains_text(std::string_view text, const char (&word)[N]) {
  constexpr size_t n = N - 1;
  for (size_t i = 0; i + n <= text.size(); ++i)
    if (text[i] == word[0] && std::memcmp(text.data() + i, word, n) == 0) return true;
  return false;
}

bool is_never_quantized_last(std::string_view last) {
  return last == "lm_head" || last == "gate" || last == "router" || last == "shared_expert_gate" ||
         contains_text(last, "norm") || contains_text(last, "embed") || last == "wte" ||
         last == "wpe" || last.starts_with("ln_");
}

}  // namespace

bool is_never_quantized_name(std::string_view module) {
  // Segment by segment: a "router" or "embed_tokens" segment anywhere, the last one by its name
  // (every module of a checkpoint asks, 30k of them in a large one).
  if (module.empty()) return false;  // (a default view's data is null: no memchr on it)
  const char* at = module.data();
  const char* const end = at + module.size();
  while (true) {
    const auto* dot = static_cast<const char*>(std::memchr(at, '.', static_cast<size_t>(end - at)));
    const std::string_view segment(at, static_cast<size_t>((dot ? dot : end) - at));
    if (!dot) return is_never_quantized_last(segment);
    if (segment == "router" || segment == "embed_tokens") return true;
    at = dot + 1;
  }
}

const ModuleParam* Module::param(std::string_view name) const {
  // Rules ask each of 30k modules for names it mostly lacks: a length no parameter has rules a
  // name out without a comparison.
  auto may_have = [this](std::string_view n) {
    return (param_lengths & name_length_bit(n.size())) != 0;
  };
  if (may_have(name)) {
    for (const auto& p : params) {
      if (p.name == name) return &p;
    }
  }
  if (param_lengths & kQuarkLegacyLengths) {
    for (const auto& [current, legacy] : kQuarkLegacyNames) {
      if (current != name) continue;
      for (const auto& p : params) {
        if (p.name == legacy) return &p;
      }
    }
  }
  // The Devstral-style activation scale is the input scale under another name.
  constexpr std::string_view kActivationScale = "activation_scale";
  if (name == "input_scale" && may_have(kActivationScale)) {
    for (const auto& p : params) {
      if (p.name == kActivationScale) return &p;
    }
  }
  // A fused experts sidecar is the per-module name less "weight_" (gate_up_proj_scale is the
  // fused weight's weight_scale), so every check asking for weight_scale finds it.
  constexpr std::string_view kWeightPrefix = "weight_";
  if (name.starts_with(kWeightPrefix) && may_have(name.substr(kWeightPrefix.size()))) {
    std::string_view fused = name.substr(kWeightPrefix.size());
    for (const auto& p : params) {
      if (p.name == fused && p.role != TensorRole::kOther) return &p;
    }
  }
  return nullptr;
}

size_t find_experts_segment(std::string_view name) {
  constexpr std::string_view kExperts = ".experts.";
  for (size_t x = name.find('x'); x != std::string_view::npos; x = name.find('x', x + 1)) {
    // An equality test of constant length: compared inline, no memcmp call.
    if (x >= 2 && name.size() - (x - 2) >= kExperts.size() &&
        std::memcmp(name.data() + x - 2, kExperts.data(), kExperts.size()) == 0)
      return x - 2;
  }
  return std::string_view::npos;
}

uint64_t param_name_lengths(std::span<const ModuleParam> params) {
  uint64_t lengths = 0;
  for (const auto& p : params) lengths |= name_length_bit(p.name.size());
  return lengths;
}

const ModuleParam* Module::first_with_role(TensorRole role) const {
  for (const auto& p : params) {
    if (p.role == role) return &p;
  }
  return nullptr;
}

const ModuleParam* Module::find_weight() const {
  if (auto* p = first_with_role(TensorRole::kPackedWeight)) return p;
  return first_with_role(TensorRole::kWeight);
}

bool Module::compute_quantized() const {
  if (has_role(TensorRole::kWeightScale) || has_role(TensorRole::kGlobalScale) ||
      has_role(TensorRole::kPackedWeight)) {
    return true;
  }
  const ModuleParam* w = weight();
  if (!w || !w->ref->info->dtype) return false;
  Dtype d = *w->ref->info->dtype;
  return is_low_precision_float(d) || d == Dtype::kI8 || d == Dtype::kU8 || d == Dtype::kI32;
}

bool Module::compute_linear() const {
  const ModuleParam* w = weight();
  if (!w) return false;
  size_t rank = w->ref->info->shape.size();
  bool fused_experts = rank >= 3 && path.find("experts") != std::string::npos;
  if (rank != 2 && !fused_experts) return false;
  return !is_never_quantized_name(path);
}

void ModuleTable::build(const std::vector<std::string_view>& sorted_names,
                        const std::vector<const TensorRef*>& refs, int threads) {
  const size_t n = sorted_names.size();
  constexpr size_t kChunk = 4096;
  const size_t chunks = (n + kChunk - 1) / kChunk;
  // 1. Each name's split into module and parameter, its role and its module's hash depend on
  // the name alone: chunks of names on every core. Kept as lengths into the name (16 bytes a
  // name, not two views and a hash).
  struct Split {
    uint32_t module_size, param_at;  // param_at == name size: no parameter
    uint32_t hash;
    TensorRole role;
  };
  std::vector<Split> splits(n);
  std::optional<PhaseTimer> timer(std::in_place, "module split");
  parallel_for(chunks, threads, [&](size_t chunk) {
    std::string_view previous;
    uint32_t previous_hash = 0;
    bool first = true;
    for (size_t i = chunk * kChunk, end = std::min(n, i + kChunk); i < end; ++i) {
      const std::string_view name = sorted_names[i];
      const auto [module, param, role] = split_tensor_name_with_role(name);
      // A module's tensors are neighbours in sorted order nearly always (module.weight,
      // module.weight_scale_inv): its hash is computed once.
      if (first || module != previous) previous_hash = static_cast<uint32_t>(hash_text(module));
      first = false;
      previous = module;
      splits[i] =
          Split{static_cast<uint32_t>(module.size()),
                static_cast<uint32_t>(param.empty() ? name.size() : param.data() - name.data()),
                previous_hash, role};
    }
  });
  // 2. Grouped by module path, in name order: one pass over the flat index. A module's
  // parameters are then laid out as one run of a single array (no vector per module).
  timer.emplace("module grouping");
  modules_.clear();
  modules_.reserve(n);
  // Most checkpoints have about two tensors a module: half a slot per name, grown if needed.
  size_t size = 16;
  while (size < n) size *= 2;
  slots_.assign(size, Slot{});
  mask_ = size - 1;
  std::vector<uint32_t> module_of(n);
  std::vector<uint32_t> counts;
  counts.reserve(n);
  size_t previous = SIZE_MAX;
  std::string_view previous_path;
  for (size_t i = 0; i < n; ++i) {
    const Split& split = splits[i];
    const std::string_view module = sorted_names[i].substr(0, split.module_size);
    size_t at = previous;
    if (previous == SIZE_MAX || module != previous_path) {
      Slot* slot = &slots_[probe(module, split.hash)];
      if (slot->index_plus_one == 0) {
        if ((modules_.size() + 1) * 2 > slots_.size()) {
          grow();
          slot = &slots_[probe(module, split.hash)];
        }
        modules_.push_back(Module{module, {}});
        counts.push_back(0);
        *slot = Slot{split.hash, static_cast<uint32_t>(modules_.size())};
      }
      at = slot->index_plus_one - 1;
      previous = at;
      previous_path = module;
    }
    module_of[i] = static_cast<uint32_t>(at);
    ++counts[at];
  }
  // counts become each module's next free position in params_.
  uint32_t start = 0;
  for (uint32_t& c : counts) {
    const uint32_t count = c;
    c = start;
    start += count;
  }
  params_.resize(n);
  for (size_t m = 0; m < modules_.size(); ++m) {
    const uint32_t end = m + 1 < modules_.size() ? counts[m + 1] : static_cast<uint32_t>(n);
    modules_[m].params = std::span<const ModuleParam>(params_.data() + counts[m], end - counts[m]);
  }
  for (size_t i = 0; i < n; ++i) {
    const std::string_view name = sorted_names[i];
    params_[counts[module_of[i]]++] =
        ModuleParam{name.substr(splits[i].param_at), splits[i].role, refs[i]};
  }
  // 3. What each module is, from its own parameters: chunks of modules on every core.
  timer.emplace("module classify");
  parallel_for((modules_.size() + kChunk - 1) / kChunk, threads, [&](size_t chunk) {
    for (size_t i = chunk * kChunk, end = std::min(modules_.size(), i + kChunk); i < end; ++i) {
      modules_[i].param_lengths = param_name_lengths(modules_[i].params);
      const ModuleParam* w = modules_[i].find_weight();
      modules_[i].weight_index =
          w ? static_cast<uint32_t>(w - modules_[i].params.data()) : Module::kNoWeight;
      modules_[i].linear = modules_[i].compute_linear();
      modules_[i].quantized = modules_[i].compute_quantized();
    }
  });
}

size_t ModuleTable::probe(std::string_view path, uint64_t h) const {
  for (size_t at = h & mask_;; at = (at + 1) & mask_) {
    const Slot& slot = slots_[at];
    if (slot.index_plus_one == 0) return at;
    if (slot.hash == static_cast<uint32_t>(h) && modules_[slot.index_plus_one - 1].path == path)
      return at;
  }
}

void ModuleTable::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.size() * 2, Slot{});
  mask_ = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.index_plus_one == 0) continue;
    uint64_t h = hash_text(modules_[s.index_plus_one - 1].path);
    size_t at = h & mask_;
    while (slots_[at].index_plus_one != 0) at = (at + 1) & mask_;
    slots_[at] = s;
  }
}

const Module* ModuleTable::find(std::string_view path) const {
  if (slots_.empty()) return nullptr;
  const Slot& slot = slots_[probe(path, hash_text(path))];
  return slot.index_plus_one == 0 ? nullptr : &modules_[slot.index_plus_one - 1];
}

}  // namespace ckd

// Tensors grouped by module path, each with a role (FORMATS.md §3-§6 naming conventions):
// "model.layers.0.mlp.down_proj.weight_scale_inv" is module "model.layers.0.mlp.down_proj",
// parameter "weight_scale_inv", role kBlockScale.
#pragma once

#include <string>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ckd {

struct TensorRef;
struct TensorInfo;
struct QuantGroup;
struct NamePattern;
class Shard;

enum class TensorRole {
  kWeight,        // weight, or a bare fused-experts tensor (experts.gate_up_proj)
  kPackedWeight,  // weight_packed, gpt-oss *_blocks, GPTQ / AWQ qweight
  kWeightScale,   // weight_scale, weight_scale_inv, *_scales, GPTQ / AWQ scales
  kGlobalScale,   // weight_scale_2, weight_global_scale
  kInputScale,    // input_scale, input_global_scale, act_scale (legacy)
  kZeroPoint,
  kGIdx,
  kShape,    // weight_shape, sparse-24-bitmask's shape
  kSparsityMask,  // sparse-24-bitmask's bitmask (one bit per weight element)
  kKvScale,  // k_scale, v_scale, q_scale, kv_scale, output_scale
  kBias,
  kOther,
};

const char* tensor_role_name(TensorRole role);
constexpr bool is_scale_role(TensorRole role) {
  return role == TensorRole::kWeightScale || role == TensorRole::kGlobalScale ||
         role == TensorRole::kInputScale || role == TensorRole::kKvScale;
}
// False only when no reading of `tensor_name` gives a scale role: every scale parameter's name
// ends in "scale", "scales", "scale_inv", "scale_2", "absmax" or "SCB" (checked against the
// tables at compile time).
bool may_name_scale(std::string_view tensor_name);

struct ModuleParam {
  std::string_view
      name;  // local parameter name ("" for a bare tensor); a view into the tensor name
  TensorRole role;
  const TensorRef* ref;
};

struct Module {
  std::string_view path;  // a view into its tensors' names (the checkpoint's header storage)
  std::span<const ModuleParam> params;  // in name order; stored by the ModuleTable
  bool linear = false;     // is_linear(), computed once by ModuleTable::build
  bool quantized = false;  // is_quantized(), likewise
  // A bit per length of the parameters' names (bit 63: 63 or more), set by ModuleTable::build:
  // param() skips a name, or an alternative name, of a length no parameter has. All bits set
  // (every length possible) until then.
  uint64_t param_lengths = ~uint64_t{0};
  // weight()'s answer as an index into params, set by ModuleTable::build (most rules ask it of
  // every module): kWeightUnknown until then, kNoWeight for none.
  static constexpr uint32_t kWeightUnknown = UINT32_MAX, kNoWeight = UINT32_MAX - 1;
  uint32_t weight_index = kWeightUnknown;
  // The declared group that quantizes this module: nullptr when the module is ignored,
  // outside every target, or the method is unknown. Set by Checkpoint::open.
  const QuantGroup* group = nullptr;
  const NamePattern* ignored = nullptr;  // the ignore entry it matches, set by Checkpoint

  const ModuleParam* param(std::string_view name) const;
  const ModuleParam* first_with_role(TensorRole role) const;
  // The weight, packed or not.
  const ModuleParam* weight() const {
    if (weight_index < params.size()) return &params[weight_index];
    return weight_index == kNoWeight ? nullptr : find_weight();
  }
  // The weight by its parameters' roles (what weight() caches).
  const ModuleParam* find_weight() const;
  bool has_role(TensorRole role) const { return first_with_role(role) != nullptr; }
  // True when a weight is stored low-precision or any weight scale is present.
  bool is_quantized() const { return quantized; }
  // A matrix multiply that quantization targets: a 2-D (or fused 3-D expert) weight whose
  // name is not an embedding, norm, router or lm_head.
  bool is_linear() const { return linear; }
  bool compute_quantized() const;
  bool compute_linear() const;
};

// The offset of the first ".experts." in `name`, or npos. Found by its 'x', rare in tensor names
// (a search for the leading '.' stops at every segment): it runs on every name and module.
size_t find_experts_segment(std::string_view name);

// Module::param_lengths of these parameters.
uint64_t param_name_lengths(std::span<const ModuleParam> params);

// Splits a tensor name into (module path, parameter name): views into `name`.
std::pair<std::string_view, std::string_view> split_tensor_name(std::string_view name);
TensorRole role_of_param(std::string_view param, std::string_view module);
// Both at once (the parameter is looked up in the table once): what the module table and the
// scale prefill ask of every name.
struct SplitTensorName {
  std::string_view module, param;
  TensorRole role;
};
SplitTensorName split_tensor_name_with_role(std::string_view name);
// Routers, embeddings, norms and lm_head: modules the formats leave in high precision.
bool is_never_quantized_name(std::string_view module);

class ModuleTable {
 public:
  ModuleTable() = default;
  ModuleTable(ModuleTable&&) = default;  // the modules' params stay where they are
  ModuleTable& operator=(ModuleTable&&) = default;
  ModuleTable(const ModuleTable&) = delete;  // a copy's modules would view the original's
  ModuleTable& operator=(const ModuleTable&) = delete;

  // Names are split and modules classified on `threads` cores (0: all); the grouping is one
  // pass in name order.
  void build(const std::vector<std::string_view>& sorted_names,
             const std::vector<const TensorRef*>& refs, int threads = 1);
  const std::vector<Module>& modules() const { return modules_; }
  std::vector<Module>& mutable_modules() { return modules_; }
  const Module* find(std::string_view path) const;

 private:
  // Open addressing over modules_ (a flat array: no node per module): slot = index + 1 (0 =
  // empty) beside 32 bits of the path's hash, so most probes compare no path.
  struct Slot {
    uint32_t hash = 0;
    uint32_t index_plus_one = 0;
  };
  // The position of `path`'s slot (hashed `h`): its module's, or the empty one where it belongs.
  size_t probe(std::string_view path, uint64_t h) const;
  void grow();

  std::vector<Module> modules_;
  std::vector<ModuleParam> params_;  // every module's, one run each
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace ckd

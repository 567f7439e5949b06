// Tensors grouped by module path, each with a role (FORMATS.md §3-§6 naming conventions):
// "model.layers.0.mlp.down_proj.weight_scale_inv" is module "model.layers.0.mlp.down_proj",
// parameter "weight_scale_inv", role kBlockScale.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ckd {

struct TensorRef;
struct TensorInfo;
class Shard;

enum class TensorRole {
  kWeight,       // weight, or a bare fused-experts tensor (experts.gate_up_proj)
  kPackedWeight, // weight_packed, gpt-oss *_blocks
  kWeightScale,  // weight_scale, weight_scale_inv, *_scales
  kGlobalScale,  // weight_scale_2, weight_global_scale
  kInputScale,   // input_scale, input_global_scale, act_scale (legacy)
  kZeroPoint,
  kGIdx,
  kShape,        // weight_shape
  kKvScale,      // k_scale, v_scale, q_scale, kv_scale, output_scale
  kBias,
  kOther,
};

const char* tensor_role_name(TensorRole role);
bool is_scale_role(TensorRole role);

struct ModuleParam {
  std::string name;  // local parameter name ("" for a bare tensor)
  TensorRole role;
  const TensorRef* ref;
};

struct Module {
  std::string path;
  std::vector<ModuleParam> params;

  const ModuleParam* param(std::string_view name) const;
  const ModuleParam* first_with_role(TensorRole role) const;
  // The weight, packed or not.
  const ModuleParam* weight() const;
  bool has_role(TensorRole role) const { return first_with_role(role) != nullptr; }
  // True when a weight is stored low-precision or any weight scale is present.
  bool is_quantized() const;
  // A matrix multiply that quantization targets: a 2-D (or fused 3-D expert) weight whose
  // name is not an embedding, norm, router or lm_head.
  bool is_linear() const;
};

// Splits a tensor name into (module path, parameter name).
std::pair<std::string, std::string> split_tensor_name(std::string_view name);
TensorRole role_of_param(std::string_view param, std::string_view module);
// Routers, embeddings, norms and lm_head: modules the formats leave in high precision.
bool is_never_quantized_name(std::string_view module);

class ModuleTable {
 public:
  void build(const std::vector<std::string>& sorted_names,
             const std::vector<const TensorRef*>& refs);
  const std::vector<Module>& modules() const { return modules_; }
  const Module* find(std::string_view path) const;

 private:
  std::vector<Module> modules_;
  std::map<std::string, size_t, std::less<>> by_path_;
};

}  // namespace ckd

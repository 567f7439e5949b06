// Engine profiles (rules/engines/*.json): what vLLM, SGLang and transformers do with a
// checkpoint's names, ignore lists, fused groups and scales, as data read from the engines'
// source (each file names its version and the files its facts come from). A new engine release
// is a data change.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace re2 {
class RE2;
}

namespace ckd {

// How an engine matches one literal ignore entry against a module path.
enum class IgnoreMatch {
  kExact,          // vLLM is_layer_skipped: entry == prefix
  kSubstring,      // vLLM skip_with_substr / modelopt: entry in prefix
  kDotBoundary,    // SGLang _module_path_match: whole dotted segments
  kPrefix,         // transformers mxfp4: re.match(entry, name)
  kPrefixOrSuffix, // transformers should_convert_module: re.match or name.endswith(entry)
};

bool ignore_entry_matches(IgnoreMatch how, std::string_view entry, std::string_view module);
const char* ignore_match_name(IgnoreMatch how);

struct EngineRuleEffect {
  std::string rule;
  std::string verdict;               // "fails" or "misloads"
  std::string unquantized_verdict;   // when the checkpoint declares no quantization ("" = same)
  std::string why;
};

struct EngineClassNaming {
  std::vector<std::pair<std::string, std::string>> mapper;  // checkpoint prefix -> engine prefix
  std::string model_prefix;  // the inner model whose load_weights looks names up
  // load_weights skips a plain (not stacked, not expert) name params_dict lacks, with a
  // warning (vLLM qwen3_5.py), so only expert names raise.
  bool plain_guarded = false;
  // The class's own list of suffixes dropped before the lookup, when it differs from the
  // profile's layout.skip_suffixes.
  std::optional<std::vector<std::string>> skip_suffixes;
};

// Where the engine reads a quantization declaration and what it does without one it knows.
struct EngineDeclaration {
  std::vector<std::string> files;  // "config.json", "hf_quant_config.json"
  // A quantization_config without quant_method (mlx-lm writes {group_size, bits}): "dense" (the
  // model is built unquantized) or the error raised ({method} unused).
  std::string no_quant_method = "dense";
  // A quant_method outside `methods`: "error" (unsupported_method_error) or "dense" (a warning,
  // then an unquantized model).
  std::string unknown_method = "error";
  std::string unknown_method_note;  // what the engine logs when it goes on dense
};

// What a parameter built in high precision does with a quantized module's tensors.
struct EngineDenseLoad {
  // A packed weight (U8 / U16 / U32 / I32 container) whose shape cannot match: {tensor},
  // {stored}, {count}.
  std::string packed_error;
  // A quantization tensor the dense module lacks a parameter for, under the class's model
  // prefix: {key} (after the stacked rename); "" when the engine skips it.
  std::string extra_error;
  std::vector<std::string> extra_skip_suffixes;  // names the engine drops quietly
  bool extra_guarded_stacked = false;            // stacked (fused) shards check params_dict first
  // The same outside the model prefix (lm_head.*): {name}, {class}; "" when skipped.
  std::string outside_error;
  // Stored low-precision values of the same shape, read with no scale.
  std::string unscaled_why;
};

// Parameter names (the part after the module path) that the engine's modules for a method do
// not define and that no loader renames.
struct EngineUnreadNames {
  std::vector<std::string> params;  // "weight_quantizer.scale"
  std::string why;                  // what the engine builds instead
};

struct EngineProfile {
  std::string engine;
  std::string version;
  std::vector<std::string> sources;
  std::vector<std::string> methods;  // quant methods (ckptdoctor's names) the engine loads
  std::string unsupported_method_error;  // {method}
  std::map<std::string, IgnoreMatch> ignore_match;  // by quant method name
  std::map<std::string, std::vector<std::string>> fused;  // fused module -> shards
  std::string fused_mismatch_error;
  std::vector<std::pair<std::shared_ptr<re2::RE2>, std::string>> renames;  // first match wins
  std::map<std::string, EngineClassNaming> classes;  // "default" for the others
  std::string layout_verdict;
  std::string layout_error;          // {key}, {count}, {from}, {to}
  std::string outside_model_error;   // {segment}, {class}
  // Names the loader drops before the lookup that raises (vLLM: ignore_suffixes, and stacked
  // shards checked against params_dict): the KeyError names the first key left in load order.
  std::vector<std::string> layout_skip_suffixes;
  bool layout_guarded_stacked = false;
  EngineDeclaration declaration;
  EngineDenseLoad dense;
  std::map<std::string, EngineUnreadNames> unread_names;  // by quant method name
  std::vector<EngineRuleEffect> findings;
  // Rules that report ckptdoctor's own reading of the ignore list: where the profile knows the
  // method's matching, the engine's reading replaces theirs.
  std::vector<std::string> ignore_list_rules;
  // Rules whose effect needs the declared quantization built: moot when the engine builds the
  // model unquantized.
  std::vector<std::string> quantized_build_rules;

  const EngineClassNaming& naming(const std::string& class_name) const;
  // The stacked-parameter rename (q/k/v -> qkv_proj, experts.N.down_proj. -> experts.w2_).
  std::string stacked_name(std::string name) const;
};

// Parses one profile; throws std::runtime_error naming `origin` on bad input.
EngineProfile parse_engine_profile(std::string_view text, const std::string& origin);

// The built-in profiles (rules/engines/*.json, embedded), by engine name.
const std::vector<EngineProfile>& builtin_engine_profiles();
std::vector<std::string> engine_names();

// Resolves --engine entries ("vllm,sglang"): throws std::runtime_error with a did-you-mean.
std::vector<const EngineProfile*> select_engines(const std::vector<std::string>& names);

}  // namespace ckd

// Engine profiles (rules/engines/*.json): what vLLM, SGLang and transformers do with a
// checkpoint's names, ignore lists, fused groups and scales, as data read from the engines'
// source (each file names its version and the files its facts come from). A new engine release
// is a data change.
#pragma once

#include <map>
#include <memory>
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
  std::vector<EngineRuleEffect> findings;
  // Rules that report ckptdoctor's own reading of the ignore list: where the profile knows the
  // method's matching, the engine's reading replaces theirs.
  std::vector<std::string> ignore_list_rules;

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

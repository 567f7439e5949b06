// One normalized view of the quantization a checkpoint declares, whatever wrote it:
// quant_method fp8, compressed-tensors, modelopt (config.json or hf_quant_config.json) and
// gpt-oss mxfp4 (FORMATS.md §3-§6), GPTQ / AWQ, bitsandbytes and MLX. Unknown methods are recorded, never guessed.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "io/text_hash.h"

namespace re2 {
class RE2;
}

namespace ckd {

enum class QuantMethod {
  kNone,
  kFp8,
  kCompressedTensors,
  kModelOpt,
  kMxfp4,
  kGptq,  // also auto-round with packing_format auto_gptq
  kAwq,   // also auto-round with packing_format auto_awq
  kFbgemmFp8,  // Meta's fbgemm_fp8: FP8 per-channel weights, dynamic per-token activations
  kQuark,      // AMD Quark exports (FP8 per-tensor / per-channel, OCP MXFP4)
  kBitsandbytes,  // quant_method bitsandbytes, load_in_4bit / load_in_8bit
  kMlx,           // top-level "quantization": {"group_size", "bits"} (mlx-lm; no quant_method)
  kUnknown,
};

enum class WeightFormat {
  kNone,        // declared group with no weight quantization (sparsity only, dense)
  kFp8Block,    // F8_E4M3 weight, scale grid [ceil(out/bn), ceil(in/bk)]
  kFp8Tensor,   // F8_E4M3 weight, one scale
  kFp8Channel,  // F8_E4M3 weight, one scale per output row
  kFp8Group,    // F8_E4M3 weight, [out, ceil(in/g)] scales
  kNvfp4,       // packed E2M1 U8 [out, in/2], F8_E4M3 scales per 16, F32 global
  kMxfp4,       // packed E2M1 U8 [out, in/2], E8M0 U8 scales per 32
  kMxfp8,       // F8_E4M3 weight, E8M0 U8 scales per 32
  kIntPacked,   // I32-packed ints (compressed-tensors pack-quantized)
  kInt8,        // I8 weights (naive / int-quantized)
  kGptq,        // I32 qweight [in*bits/32, out], qzeros, scales [groups, out], g_idx
  kAwqGemm,     // I32 qweight [in, out/8] (interleaved nibbles), qzeros, scales [groups, out]
  kAwqGemv,     // I32 qweight [out, in/8], qzeros, scales padded per row
  kBnbNf4,      // bitsandbytes 4-bit NF4: U8 [ceil(n/2), 1], absmax per flat block + quant_state
  kBnbFp4,      // bitsandbytes 4-bit FP4: the same layout with the FP4 code
  kBnbInt8,     // bitsandbytes LLM.int8: I8 [out, in], F32 SCB [out] (row absmax)
  kMlxAffine,   // MLX affine: U32 [out, in*bits/32], scales and biases [out, in/group]
  // compressed-tensors sparse-24-bitmask: `compressed` [out, in/2] (the two kept values of every
  // four), `bitmask` U8 [out, ceil(in/8)], `shape` I64 [2, 1]; alone (16/32-bit values) or over
  // FP8 codes with a per-tensor or per-channel weight_scale.
  kSparse24,
  kSparse24Fp8Tensor,
  kSparse24Fp8Channel,
  kUnknown,
};
// Each format's traits (weight and scale dtypes, packing, grid): src/numerics/formats.h.

enum class InputActivations { kNone, kDynamic, kStatic };

const char* quant_method_name(QuantMethod m);
const char* weight_format_name(WeightFormat f);  // defined with the table (numerics/formats.cpp)

// An ignore / target / exclude entry with the matching semantics of the format that wrote it.
// Memory per entry is its text plus, for a compressed-tensors "re:" entry only, one RE2 object
// with a small memory budget (kRegexMaxMem); globs are matched by glob_match, never compiled.
struct NamePattern {
  enum class Kind { kExact, kRegex, kGlob, kClass };
  std::string text;
  Kind kind = Kind::kExact;
  std::shared_ptr<re2::RE2> regex;  // kRegex, when compiled (see kMaxRegexEntries)

  static NamePattern compressed_tensors(std::string text);  // "re:" prefix, exact or class name
  static NamePattern glob(std::string text);                // fnmatch + exact + module prefix
  bool matches(std::string_view module, bool is_linear) const;
  // No wildcard: the entry names one module path (a glob also covers its children).
  bool is_literal() const;
  // The module path a wildcard-free entry names: "x", "x*" and "x.*" all name "x" (a glob
  // also covers that module's children). Meaningless for entries with other wildcards.
  std::string_view literal_stem() const;
  bool valid() const;
};

// A config is untrusted, and 200k regexes at RE2's default budget held gigabytes. So a "re:"
// entry is compiled only when its text is at most kMaxPatternLength characters (RE2 keeps a
// parse tree of about 30 bytes per character) with a budget of kRegexMaxMem for its program
// and DFA cache (the DFA falls back to the NFA past it), and at most kMaxRegexEntries of them
// per declaration: a few hundred KiB each, some 80 MiB at worst. Real configs hold a handful.
inline constexpr size_t kMaxPatternLength = 1024;
inline constexpr int64_t kRegexMaxMem = 256 << 10;
inline constexpr size_t kMaxRegexEntries = 256;

// Python fnmatch with '*' (any run, '.' included) and '?' (one character); every other
// character, '[' included, is literal. O(|pattern| * |text|) at worst, no allocation; a glob
// with wildcards longer than kMaxPatternLength is not a valid pattern (it matches nothing).
bool glob_match(std::string_view pattern, std::string_view text);

struct QuantGroup {
  std::string name;
  std::vector<NamePattern> targets;  // empty: every linear module
  WeightFormat format = WeightFormat::kUnknown;
  int bits = 0;
  std::optional<std::array<uint64_t, 2>> block;  // [rows, cols]
  uint64_t group_size = 0;
  InputActivations input = InputActivations::kNone;
  bool symmetric = true;
  // GPTQ desc_act / compressed-tensors actorder "group": g_idx maps input columns to groups in
  // a permuted order, so it must be saved.
  bool act_order = false;
  // GPTQ: qzeros store zero - zero_offset: 1 for checkpoint_format "gptq" (v1), 0 for "gptq_v2"
  // and for AWQ (GPTQModel utils/model.py convert_gptq_v1_to_v2_format).
  int zero_offset = 0;
  // compressed-tensors format "dense" with weights declared (save_compressed=False): nothing is
  // stored quantized (`format` is kNone), but the 16/32-bit weights carry the scale / zero point
  // sidecars of this format. kNone when the group is not such a group.
  WeightFormat dense_of = WeightFormat::kNone;
  // bitsandbytes bnb_4bit_use_double_quant: absmax stored as U8 codes with nested_absmax,
  // nested_quant_map and nested_offset (bitsandbytes functional.py QuantState.as_dict).
  bool double_quant = false;
};

// compressed-tensors `sparsity_config` (config/base.py SparsityCompressionConfig, 0.14.0.1 and
// before; 0.15 removed it). Only format "sparse-24-bitmask" changes what is stored: its targets
// minus its ignore hold compressed / bitmask / shape instead of weight.
struct SparsityDecl {
  std::string format;     // "sparse-24-bitmask", "dense", "sparse-bitmask", ...
  std::string structure;  // sparsity_structure: "2:4", "unstructured", ...
  std::vector<NamePattern> targets;
  std::vector<NamePattern> ignore;

  bool bitmask_24() const { return format == "sparse-24-bitmask"; }
  bool covers(std::string_view module, bool is_linear) const;
};

struct QuantScheme {
  QuantMethod method = QuantMethod::kNone;
  std::string method_name;  // as declared
  std::string algo;         // modelopt quant_algo
  std::string source_file;  // config.json or hf_quant_config.json
  std::string ignore_key;   // "ignore", "exclude_modules" or "modules_to_not_convert"
  std::vector<QuantGroup> groups;
  std::vector<NamePattern> ignore;
  bool kv_cache = false;
  // Where the KV-cache quantization is declared ("kv_cache_scheme", "kv_cache_quant_algo",
  // "export.kv_cache_group") and the scale granularity it declares: "tensor" (one k_scale and
  // one v_scale per attention layer), "attn_head" (one per KV head) or "" when not said.
  std::string kv_cache_key;
  std::string kv_cache_strategy;
  // quant_method fp8 `scale_fmt` ("ue8m0": block scales are powers of two, DeepSeek-V3.1+;
  // "float" or "" otherwise), lower-cased.
  std::string scale_fmt;
  // compressed-tensors: the top-level "format" as declared ("" when absent).
  std::string declared_format;
  std::vector<std::string> problems;  // declaration problems (unsupported algo, bad pattern)
  std::optional<SparsityDecl> sparsity;
  // With sparse-24-bitmask: the group a sparsity target follows, by index of `groups` (the
  // quantization stacked under the sparsity), and at the end the one for targets no group
  // quantizes (format kSparse24). See sparse_group_for.
  std::vector<QuantGroup> sparse_groups;
  std::string status;                 // compressed-tensors quantization_status ("frozen", ...)
  // Values no producer writes (a block size of 0, num_bits past 32, ...), each naming the key
  // and value: reported as invalid-config, and the group holding one is not guessed (kUnknown).
  std::vector<std::string> invalid;
  size_t invalid_count = 0;  // values found; past 8, `invalid` ends with one summary line

  bool quantizes() const;
  // Builds the lookup tables ignored_by and group_for use; call after filling `ignore` and
  // `groups`.
  void index_patterns();
  const QuantGroup* group_for(std::string_view module, bool is_linear) const;
  const NamePattern* ignored_by(std::string_view module, bool is_linear) const;

  // ignored_by for modules met one after another (the module table's order): the parents a
  // module shares with the previous one were looked up for it already. Holds a view of the last
  // module's path, which must outlive the next call.
  class IgnoreWalk {
   public:
    explicit IgnoreWalk(const QuantScheme& scheme) : scheme_(scheme) {}
    const NamePattern* ignored_by(std::string_view module, bool is_linear);

   private:
    const QuantScheme& scheme_;
    std::string_view previous_;
    // The previous module's parents, longest first: (length, the literal glob entry naming it).
    std::vector<std::pair<size_t, const NamePattern*>> parents_, next_;
  };

  // The group of a module that the sparse-24-bitmask sparsity covers, given the group that
  // quantizes it (`quant`, a member of `groups`, or nullptr); nullptr when the sparsity does not
  // cover the module.
  const QuantGroup* sparse_group_for(const QuantGroup* quant, std::string_view module,
                                     bool is_linear) const;

 private:
  // Patterns without wildcards, by text: a module or one of its parents is looked up directly.
  // Indices into `ignore` (not pointers: the scheme is copied and moved). Looked up by
  // string_view (TextHash), so probing a module's parents allocates nothing.
  std::unordered_map<std::string, size_t, TextHash, std::equal_to<>> literal_ignore_;
  std::vector<size_t> wildcard_ignore_;
  // The literal entry naming `module` itself, and one naming its parent `parent` (only a glob
  // covers children: a compressed-tensors regex names the module itself).
  const NamePattern* literal_ignore_entry(std::string_view module) const;
  const NamePattern* literal_parent_entry(std::string_view parent) const;
  // The entries with wildcards, regexes or class names that match `module` (ignored_by's last
  // step).
  const NamePattern* wildcard_ignored_by(std::string_view module, bool is_linear) const;
  // group_for's tables, by group index (the first matching group wins). Literal targets are
  // looked up by text, so 47k MIXED_PRECISION quantized_layers cost O(1) per module.
  std::unordered_map<std::string, size_t, TextHash, std::equal_to<>> exact_target_;
  std::unordered_map<std::string, size_t, TextHash, std::equal_to<>> prefix_target_;
  std::vector<std::pair<size_t, size_t>> wildcard_target_;  // (group, target), in order
  size_t first_linear_group_ = SIZE_MAX;  // no targets, or a "Linear" class target
};

// Reads the declaration from config.json (`quantization_config`, or legacy
// `compression_config`) and hf_quant_config.json; either may be null.
QuantScheme parse_quant_scheme(const nlohmann::json* config, const nlohmann::json* hf_quant_config);

}  // namespace ckd

#include "checkpoint/quant_scheme.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>
#include <re2/re2.h>
#include <nlohmann/json.hpp>

#include "checkpoint/scheme_readers.h"
#include "io/text_prefix.h"

namespace ckd {

using nlohmann::json;

const char* quant_method_name(QuantMethod m) {
  switch (m) {
    case QuantMethod::kNone:
      return "none";
    case QuantMethod::kFp8:
      return "fp8";
    case QuantMethod::kCompressedTensors:
      return "compressed-tensors";
    case QuantMethod::kModelOpt:
      return "modelopt";
    case QuantMethod::kMxfp4:
      return "mxfp4";
    case QuantMethod::kGptq:
      return "gptq";
    case QuantMethod::kAwq:
      return "awq";
    case QuantMethod::kFbgemmFp8:
      return "fbgemm_fp8";
    case QuantMethod::kQuark:
      return "quark";
    case QuantMethod::kBitsandbytes:
      return "bitsandbytes";
    case QuantMethod::kMlx:
      return "mlx";
    case QuantMethod::kUnknown:
      return "unknown";
  }
  return "?";
}

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string str_or(const json& j, const char* key, std::string fallback = "") {
  if (j.is_object() && j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  return fallback;
}

// --- Integers read from a declaration, checked against what its producer accepts. A value
// outside that (a block of [0, 0], num_bits 4294967300, group_size 0) is recorded in
// QuantScheme::invalid naming the key and value, and its group is left kUnknown: never
// silently replaced by a default, nor truncated. JSON floats with an integral value count as
// integers (pydantic accepts 128.0 for an int field).

constexpr int64_t kMaxConfigInt = (int64_t{1} << 31) - 1;  // block and group sizes
constexpr size_t kMaxInvalidListed = 8;

// The integer `v` holds when it lies in [lo, hi] (lo <= hi, hi >= 0).
std::optional<int64_t> int_in(const json& v, int64_t lo, int64_t hi) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(hi) || static_cast<int64_t>(u) < lo) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    if (i < lo || i > hi) return std::nullopt;
    return i;
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::floor(d))
      return std::nullopt;
    return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

// `where` names the key as the config spells it; names from the config are cut short.
void record_invalid(QuantScheme& s, const std::string& where, const json* value,
                    std::string_view legal) {
  size_t n = ++s.invalid_count;
  if (n > kMaxInvalidListed) {
    std::string summary = fmt::format(
        "{} more values outside what the producer writes, like the ones above; their groups "
        "are not checked either",
        n - kMaxInvalidListed);
    if (n == kMaxInvalidListed + 1) {
      s.invalid.push_back(std::move(summary));
    } else {
      s.invalid.back() = std::move(summary);
    }
    return;
  }
  std::string shown = value ? value->dump(-1, ' ', false, json::error_handler_t::replace)
                            : std::string("missing");
  if (shown.size() > 64) shown = shown.substr(0, 61) + "...";
  s.invalid.push_back(fmt::format("{} is {}, not {}; the quantization scheme is not guessed: "
                                  "its modules are not checked against it",
                                  where, shown, legal));
}

std::string config_name(std::string_view name) {
  return name.size() > 80 ? std::string(name.substr(0, 77)) + "..." : std::string(name);
}

// An optional positive size (modelopt group_size): absent or null is nullopt; false when the
// value is present but not in [1, kMaxConfigInt].
bool optional_size(const json& obj, const char* key, const std::string& where, QuantScheme& s,
                   std::optional<uint64_t>& out) {
  out.reset();
  if (!obj.is_object() || !obj.contains(key) || obj[key].is_null()) return true;
  std::optional<int64_t> v = int_in(obj[key], 1, kMaxConfigInt);
  if (!v) {
    record_invalid(s, where, &obj[key], "a positive integer");
    return false;
  }
  out = static_cast<uint64_t>(*v);
  return true;
}

// A [rows, cols] block (fp8 weight_block_size, compressed-tensors block_structure, which may
// also be the legacy string "RxC"): null is nullopt; false when it is anything else but two
// integers in [1, kMaxConfigInt].
bool optional_block(const json& v, const std::string& where, QuantScheme& s,
                    std::optional<std::array<uint64_t, 2>>& out) {
  out.reset();
  if (v.is_null()) return true;
  std::optional<int64_t> rows, cols;
  if (v.is_array() && v.size() == 2) {
    rows = int_in(v[0], 1, kMaxConfigInt);
    cols = int_in(v[1], 1, kMaxConfigInt);
  } else if (v.is_string()) {
    // compressed-tensors quant_args.py validate_block_structure: "2x4" -> [2, 4].
    const std::string& text = v.get_ref<const std::string&>();
    size_t x = text.find('x');
    auto number = [](std::string_view digits) -> std::optional<int64_t> {
      if (digits.empty() || digits.size() > 10) return std::nullopt;
      int64_t n = 0;
      for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + (c - '0');
      }
      if (n < 1 || n > kMaxConfigInt) return std::nullopt;
      return n;
    };
    if (x != std::string::npos) {
      rows = number(std::string_view(text).substr(0, x));
      cols = number(std::string_view(text).substr(x + 1));
    }
  }
  if (!rows || !cols) {
    record_invalid(s, where, &v, "two positive integers [rows, cols]");
    return false;
  }
  out = std::array<uint64_t, 2>{static_cast<uint64_t>(*rows), static_cast<uint64_t>(*cols)};
  return true;
}

// compressed-tensors QuantizationArgs (quant_args.py): num_bits an int (default 8),
// group_size None, -1 (per channel) or positive, block_structure as above. Sets g.bits,
// g.group_size and g.block; -1 without a strategy means "channel", as validate_model_after
// infers. False when a value is outside that.
bool ct_weight_numbers(const json& w, const std::string& where, std::string& strategy,
                       QuantGroup& g, QuantScheme& s) {
  bool ok = true;
  g.bits = 8;
  if (w.contains("num_bits")) {
    std::optional<int64_t> bits = int_in(w["num_bits"], 1, 32);
    if (bits) {
      g.bits = static_cast<int>(*bits);
    } else {
      record_invalid(s, where + ".num_bits", &w["num_bits"], "an integer from 1 to 32");
      ok = false;
    }
  }
  std::string lowered = lower(strategy);
  bool grouped = lowered == "group" || lowered == "tensor_group";
  if (w.contains("group_size") && !w["group_size"].is_null()) {
    const json& v = w["group_size"];
    std::optional<int64_t> size = int_in(v, -1, kMaxConfigInt);
    if (size && *size > 0) {
      g.group_size = static_cast<uint64_t>(*size);
    } else if (size && *size == -1 && !grouped) {
      if (lowered.empty()) strategy = "channel";
    } else if (size && *size == 0 && !grouped && !lowered.empty()) {
      // accepted by the library with an explicit non-group strategy, and means nothing
    } else {
      record_invalid(s, where + ".group_size", &v,
                     grouped ? "a positive integer (strategy \"" + lowered + "\" needs one)"
                             : "null, -1 (per channel) or a positive integer");
      ok = false;
    }
  } else if (grouped) {
    record_invalid(s, where + ".group_size", w.contains("group_size") ? &w["group_size"] : nullptr,
                   "a positive integer (strategy \"" + lowered + "\" needs one)");
    ok = false;
  }
  if (w.contains("block_structure"))
    ok = optional_block(w["block_structure"], where + ".block_structure", s, g.block) && ok;
  return ok;
}

std::vector<NamePattern> glob_list(const json& j) {
  std::vector<NamePattern> out;
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (e.is_string()) out.push_back(NamePattern::glob(e.get<std::string>()));
  }
  return out;
}

// "re:" entries past kMaxRegexEntries (`regex_budget`: how many more may be compiled) or
// longer than kMaxPatternLength are kept uncompiled (invalid, matching nothing) and counted.
struct RegexBudget {
  size_t left = kMaxRegexEntries;
  size_t past_count = 0;
  size_t too_long = 0;
};

std::vector<NamePattern> ct_list(const json& j, RegexBudget& budget) {
  std::vector<NamePattern> out;
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (!e.is_string()) continue;
    const std::string& text = e.get_ref<const std::string&>();
    bool is_regex = text.rfind("re:", 0) == 0;
    if (is_regex && (budget.left == 0 || text.size() - 3 > kMaxPatternLength)) {
      NamePattern p;
      p.text = text;
      p.kind = NamePattern::Kind::kRegex;
      out.push_back(std::move(p));
      ++(budget.left == 0 ? budget.past_count : budget.too_long);
      continue;
    }
    if (is_regex) --budget.left;
    out.push_back(NamePattern::compressed_tensors(text));
  }
  return out;
}

InputActivations ct_input(const json& args) {
  if (!args.is_object()) return InputActivations::kNone;
  const json& dyn = args.contains("dynamic") ? args["dynamic"] : json(false);
  if (dyn.is_boolean())
    return dyn.get<bool>() ? InputActivations::kDynamic : InputActivations::kStatic;
  // "local": per-group scales dynamic, the global (input_global_scale) static and stored.
  if (dyn.is_string() && dyn.get<std::string>() == "local") return InputActivations::kStatic;
  return InputActivations::kDynamic;
}

WeightFormat ct_weight_format(const json& w, const std::string& format, QuantGroup& g,
                              QuantScheme& s) {
  if (!w.is_object()) return WeightFormat::kNone;
  std::string type = str_or(w, "type", "int");
  std::string strategy = str_or(w, "strategy");
  if (!ct_weight_numbers(w, "config_groups." + config_name(g.name) + ".weights", strategy, g, s))
    return WeightFormat::kUnknown;
  if (w.contains("symmetric") && w["symmetric"].is_boolean())
    g.symmetric = w["symmetric"].get<bool>();
  // actorder "group" (or the legacy true) saves weight_g_idx; "weight" order is undone on save.
  if (w.contains("actorder")) {
    const json& order = w["actorder"];
    g.act_order = (order.is_string() && order.get<std::string>() == "group") ||
                  (order.is_boolean() && order.get<bool>());
  }
  std::string scale_dtype = str_or(w, "scale_dtype");

  if (format == "nvfp4-pack-quantized") return WeightFormat::kNvfp4;
  if (format == "mxfp4-pack-quantized") return WeightFormat::kMxfp4;
  if (format == "mxfp8-quantized") return WeightFormat::kMxfp8;
  if (format == "pack-quantized" || format == "marlin-24") return WeightFormat::kIntPacked;
  if (format == "int-quantized" || (format == "naive-quantized" && type == "int"))
    return WeightFormat::kInt8;
  if (type == "float" && g.bits == 4)
    return g.group_size == 32 ? WeightFormat::kMxfp4 : WeightFormat::kNvfp4;
  if (type == "float" && g.bits == 8) {
    if (strategy == "block" || g.block) return WeightFormat::kFp8Block;
    if (strategy == "channel") return WeightFormat::kFp8Channel;
    if (g.group_size == 32 && scale_dtype.find("uint8") != std::string::npos)
      return WeightFormat::kMxfp8;
    if (strategy == "group" || strategy == "tensor_group" || g.group_size > 0)
      return WeightFormat::kFp8Group;
    return WeightFormat::kFp8Tensor;
  }
  if (type == "int") return g.bits == 8 ? WeightFormat::kInt8 : WeightFormat::kIntPacked;
  return WeightFormat::kUnknown;
}

// The group a 2:4-compressed module follows: the quantization stacked under the sparsity
// (compressed-tensors 0.14.0.1 model_compressor.py compress_model: "quantization first", then
// "sparsity second" over the quantized weight), as the table's sparse row of that format.
QuantGroup sparse_twin(const QuantGroup& quant, QuantScheme& s) {
  QuantGroup g = quant;
  g.name = quant.name + " + sparse-24-bitmask";
  switch (quant.format) {
    case WeightFormat::kNone:
      g.format = WeightFormat::kSparse24;
      break;
    // vLLM's CompressedTensors24 (compressed_tensors_24.py) runs 8-bit weights with TENSOR or
    // CHANNEL scales; compressed-tensors stacks the sparsity over any naive-quantized weight.
    case WeightFormat::kFp8Tensor:
      g.format = WeightFormat::kSparse24Fp8Tensor;
      break;
    case WeightFormat::kFp8Channel:
      g.format = WeightFormat::kSparse24Fp8Channel;
      break;
    default:
      g.format = WeightFormat::kUnknown;
      s.problems.push_back(fmt::format(
          "sparse-24-bitmask over {} weights (config group \"{}\") is not modelled; its modules "
          "are not checked",
          weight_format_name(quant.format), config_name(quant.name)));
  }
  return g;
}

// `sparsity_config` (compressed-tensors config/base.py SparsityCompressionConfig, written by
// model_compressor.py update_config next to the quantization keys).
void parse_ct_sparsity(const json& sc, QuantScheme& s, RegexBudget& budget) {
  SparsityDecl d;
  d.format = str_or(sc, "format");
  // SparsityStructure is case-insensitive and None means unstructured (config/base.py).
  d.structure = lower(str_or(sc, "sparsity_structure", "unstructured"));
  if (sc.contains("targets") && sc["targets"].is_array()) d.targets = ct_list(sc["targets"], budget);
  if (sc.contains("ignore") && sc["ignore"].is_array()) d.ignore = ct_list(sc["ignore"], budget);
  bool structure_ok = true;
  if (d.bitmask_24() && d.structure != "2:4") {
    // sparse24_bitmask_compress asserts SparsityStructure.TWO_FOUR.
    record_invalid(s, "sparsity_config.sparsity_structure",
                   sc.contains("sparsity_structure") ? &sc["sparsity_structure"] : nullptr,
                   "\"2:4\" (the only structure sparse-24-bitmask writes)");
    structure_ok = false;
  } else if (!d.bitmask_24() && d.format != "dense" && !d.format.empty()) {
    s.problems.push_back(fmt::format(
        "sparsity_config format \"{}\" is not modelled; its modules are not checked",
        config_name(d.format)));
  }
  if (d.bitmask_24()) {
    for (const QuantGroup& g : s.groups) s.sparse_groups.push_back(sparse_twin(g, s));
    QuantGroup only;
    only.name = "sparsity_config";
    only.targets = d.targets;
    only.format = WeightFormat::kSparse24;
    s.sparse_groups.push_back(std::move(only));
    if (!structure_ok) {
      for (QuantGroup& g : s.sparse_groups) g.format = WeightFormat::kUnknown;
    }
  }
  s.sparsity = std::move(d);
}

void parse_compressed_tensors(const json& qc, QuantScheme& s) {
  s.method = QuantMethod::kCompressedTensors;
  std::string top_format = str_or(qc, "format");
  RegexBudget budget;
  if (qc.contains("config_groups") && qc["config_groups"].is_object()) {
    for (const auto& [name, group] : qc["config_groups"].items()) {
      if (!group.is_object()) continue;
      QuantGroup g;
      g.name = name;
      g.targets = ct_list(group.value("targets", json::array()), budget);
      std::string format = str_or(group, "format", top_format);
      if (format == "dense" || format.rfind("sparse", 0) == 0) {
        g.format = WeightFormat::kNone;
        // save_compressed=False writes "dense" (llmcompressor compressed_tensors_utils.py
        // get_model_compressor): the weights' args still say what the sidecars quantize to.
        if (format == "dense" && group.contains("weights") && group["weights"].is_object())
          g.dense_of = ct_weight_format(group["weights"], "", g, s);
      } else {
        g.format = ct_weight_format(group.value("weights", json()), format, g, s);
      }
      g.input = ct_input(group.value("input_activations", json()));
      s.groups.push_back(std::move(g));
    }
  }
  s.ignore = ct_list(qc.value("ignore", json::array()), budget);
  s.ignore_key = "ignore";
  s.status = str_or(qc, "quantization_status");
  if (budget.past_count > 0) {
    s.problems.push_back(fmt::format(
        "{} \"re:\" entries past the first {} in targets and ignore are not compiled (a bound "
        "on untrusted configs): they match no module",
        budget.past_count, kMaxRegexEntries));
  }
  if (budget.too_long > 0) {
    s.problems.push_back(fmt::format(
        "{} \"re:\" entries in targets and ignore are longer than {} characters and not "
        "compiled (a bound on untrusted configs): they match no module",
        budget.too_long, kMaxPatternLength));
  }
  s.kv_cache = qc.contains("kv_cache_scheme") && qc["kv_cache_scheme"].is_object();
  if (s.kv_cache) {
    s.kv_cache_key = "kv_cache_scheme";
    // compressed-tensors QuantizationArgs: strategy defaults to "tensor" for KV caches.
    s.kv_cache_strategy = lower(str_or(qc["kv_cache_scheme"], "strategy", "tensor"));
  }
  s.declared_format = top_format;
  if (qc.contains("sparsity_config") && qc["sparsity_config"].is_object() &&
      !qc["sparsity_config"].empty())
    parse_ct_sparsity(qc["sparsity_config"], s, budget);
}

// `group_size`: the declared one, or 0 for the algorithm's default.
QuantGroup modelopt_group(const std::string& algo_in, uint64_t group_size, QuantScheme& s) {
  std::string algo = upper(algo_in);
  QuantGroup g;
  g.name = algo;
  if (algo == "FP8") {
    g.format = WeightFormat::kFp8Tensor, g.bits = 8, g.input = InputActivations::kStatic;
  } else if (algo == "FP8_PER_CHANNEL_PER_TOKEN") {
    g.format = WeightFormat::kFp8Channel, g.bits = 8, g.input = InputActivations::kDynamic;
  } else if (algo == "FP8_PB_WO") {
    g.format = WeightFormat::kFp8Block, g.bits = 8, g.block = {{128, 128}};
  } else if (algo == "NVFP4" || algo == "NVFP4_AWQ") {
    g.format = WeightFormat::kNvfp4, g.bits = 4, g.input = InputActivations::kStatic;
    g.group_size = group_size ? group_size : 16;
  } else if (algo == "W4A16_NVFP4") {
    g.format = WeightFormat::kNvfp4, g.bits = 4, g.group_size = group_size ? group_size : 16;
  } else if (algo == "MXFP8") {
    g.format = WeightFormat::kMxfp8, g.bits = 8, g.group_size = 32;
  } else if (algo == "MXFP4") {  // U8 [out, in/2] weight, U8 E8M0 weight_scale [out, in/32]
    g.format = WeightFormat::kMxfp4, g.bits = 4, g.group_size = 32;
  } else {
    g.format = WeightFormat::kUnknown;
    s.problems.push_back(
        fmt::format("modelopt quant_algo \"{}\" is not modelled; its modules are "
                    "not checked",
                    algo_in));
  }
  return g;
}

void parse_modelopt(const json& q, QuantScheme& s) {
  s.method = QuantMethod::kModelOpt;
  s.method_name = "modelopt";
  s.algo = str_or(q, "quant_algo");
  std::optional<uint64_t> group_size;
  bool group_size_ok = optional_size(q, "group_size", "group_size", s, group_size);
  if (upper(s.algo) == "MIXED_PRECISION" && q.contains("quantized_layers") &&
      q["quantized_layers"].is_object()) {
    for (const auto& [prefix, layer] : q["quantized_layers"].items()) {
      std::optional<uint64_t> own;
      bool ok = optional_size(layer, "group_size",
                              "quantized_layers." + config_name(prefix) + ".group_size", s, own);
      if (ok && !own) ok = group_size_ok, own = group_size;
      QuantGroup g = modelopt_group(str_or(layer, "quant_algo"), own.value_or(0), s);
      if (!ok) g.format = WeightFormat::kUnknown;
      g.name = prefix;
      g.targets.push_back(NamePattern::glob(prefix));
      s.groups.push_back(std::move(g));
    }
  } else if (!s.algo.empty()) {
    s.groups.push_back(modelopt_group(s.algo, group_size.value_or(0), s));
    if (!group_size_ok) s.groups.back().format = WeightFormat::kUnknown;
  }
  if (q.contains("exclude_modules")) {
    s.ignore = glob_list(q["exclude_modules"]);
    s.ignore_key = "exclude_modules";
  } else if (q.contains("ignore")) {
    s.ignore = glob_list(q["ignore"]);
    s.ignore_key = "ignore";
  }
  s.kv_cache = (q.contains("kv_cache_quant_algo") && q["kv_cache_quant_algo"].is_string()) ||
               (q.contains("kv_cache_scheme") && q["kv_cache_scheme"].is_object());
  if (s.kv_cache) {
    // modelopt exports one k_scale / v_scale per attention layer (FP8 / NVFP4 KV caches).
    s.kv_cache_key = q.contains("kv_cache_quant_algo") ? "kv_cache_quant_algo" : "kv_cache_scheme";
    s.kv_cache_strategy = "tensor";
  }
}

bool looks_like_modelopt(const json& qc) {
  return qc.contains("quant_algo") ||
         (qc.contains("producer") && str_or(qc["producer"], "name") == "modelopt");
}

}  // namespace

NamePattern NamePattern::compressed_tensors(std::string text) {
  NamePattern p;
  p.text = text;
  if (text.rfind("re:", 0) == 0) {
    p.kind = Kind::kRegex;
    RE2::Options options(RE2::Quiet);
    options.set_max_mem(kRegexMaxMem);
    // Python re.match: anchored at the start only.
    p.regex = std::make_shared<re2::RE2>("^(?:" + text.substr(3) + ")", options);
  } else if (!text.empty() && std::isupper(static_cast<unsigned char>(text[0])) &&
             text.find('.') == std::string::npos) {
    p.kind = Kind::kClass;  // "Linear", "Embedding", ...: a module class name
  } else {
    p.kind = Kind::kExact;
  }
  return p;
}

NamePattern NamePattern::glob(std::string text) {
  NamePattern p;
  p.text = std::move(text);
  p.kind = Kind::kGlob;
  return p;
}

bool NamePattern::valid() const {
  if (kind == Kind::kRegex) return regex && regex->ok();
  if (kind == Kind::kGlob) return text.size() <= kMaxPatternLength || is_literal();
  return true;
}

bool NamePattern::is_literal() const {
  switch (kind) {
    case Kind::kExact:
      return true;
    case Kind::kGlob:
      return text.find_first_of("*?[") == std::string::npos;
    case Kind::kRegex:
    case Kind::kClass:
      return false;
  }
  return false;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  constexpr size_t kNone = std::string_view::npos;
  // What follows the last '*', when it holds no '?', must end the text: checked first, it
  // rejects most names without the loop below (200k globs are tried on every module).
  if (size_t last_star = pattern.rfind('*'); last_star != kNone) {
    std::string_view tail = pattern.substr(last_star + 1);
    if (tail.find('?') == kNone &&
        (text.size() < tail.size() || text.substr(text.size() - tail.size()) != tail)) {
      return false;
    }
  }
  // Greedy with one backtrack point: on a mismatch, the last '*' absorbs one more character.
  size_t p = 0, t = 0, star = kNone, star_text = 0;
  auto continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (p < pattern.size() && pattern[p] == '?') {
      ++p;
      ++t;  // one character: a whole UTF-8 sequence, as fnmatch on str does
      while (t < text.size() && continuation(text[t])) ++t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != kNone) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool NamePattern::matches(std::string_view module, bool is_linear) const {
  switch (kind) {
    case Kind::kExact:
      return module == text;
    case Kind::kClass:
      return text == "Linear" && is_linear;
    case Kind::kRegex:
      return regex && regex->ok() && RE2::PartialMatch(module, *regex);
    case Kind::kGlob: {
      if (module == text) return true;
      // "x" and "x*" also cover the module's children ("x.weight" style prefixes).
      std::string_view stem = literal_stem();
      if (module.size() > stem.size() && module.substr(0, stem.size()) == stem &&
          module[stem.size()] == '.' && stem.find_first_of("*?[") == std::string_view::npos) {
        return true;
      }
      // Without '*' or '?' glob_match is equality, answered above ('[' is literal).
      return text.size() <= kMaxPatternLength && text.find_first_of("*?") != std::string::npos &&
             glob_match(text, module);
    }
  }
  return false;
}

std::string_view NamePattern::literal_stem() const {
  std::string_view stem = text;
  if (kind != Kind::kGlob) return stem;
  while (!stem.empty() && (stem.back() == '*' || stem.back() == '.')) stem.remove_suffix(1);
  return stem;
}

bool QuantScheme::quantizes() const {
  if (sparsity && sparsity->bitmask_24()) return true;  // stored compressed even when unquantized
  return std::any_of(groups.begin(), groups.end(),
                     [](const QuantGroup& g) { return g.format != WeightFormat::kNone; });
}

bool SparsityDecl::covers(std::string_view module, bool is_linear) const {
  // compressed-tensors match_named_modules(targets, ignore): a target matches, no ignore does.
  auto any = [&](const std::vector<NamePattern>& patterns) {
    return std::any_of(patterns.begin(), patterns.end(),
                       [&](const NamePattern& p) { return p.matches(module, is_linear); });
  };
  return any(targets) && !any(ignore);
}

const QuantGroup* QuantScheme::sparse_group_for(const QuantGroup* quant, std::string_view module,
                                                bool is_linear) const {
  if (!sparsity || !sparsity->bitmask_24() || sparse_groups.empty() ||
      !sparsity->covers(module, is_linear))
    return nullptr;
  if (quant && quant >= groups.data() && quant < groups.data() + groups.size() &&
      sparse_groups.size() == groups.size() + 1)
    return &sparse_groups[static_cast<size_t>(quant - groups.data())];
  return &sparse_groups.back();
}

const QuantGroup* QuantScheme::group_for(std::string_view module, bool is_linear) const {
  // The first group in declaration order with a matching target, from the tables that
  // index_patterns built (NamePattern::matches semantics, each kind looked up its own way).
  size_t best = is_linear ? first_linear_group_ : SIZE_MAX;
  // Most schemes target classes ("Linear") only: then nothing here is hashed.
  if (!exact_target_.empty()) {
    if (auto it = exact_target_.find(module); it != exact_target_.end())
      best = std::min(best, it->second);
  }
  std::string_view parent = module;
  while (!prefix_target_.empty()) {
    const size_t dot = parent.rfind('.');
    if (dot == std::string_view::npos) break;
    parent = parent.substr(0, dot);
    if (auto it = prefix_target_.find(parent); it != prefix_target_.end())
      best = std::min(best, it->second);
  }
  for (auto [g, t] : wildcard_target_) {
    if (g >= best) break;
    if (groups[g].targets[t].matches(module, is_linear)) {
      best = g;
      break;
    }
  }
  return best == SIZE_MAX ? nullptr : &groups[best];
}

void QuantScheme::index_patterns() {
  exact_target_.clear();
  prefix_target_.clear();
  wildcard_target_.clear();
  first_linear_group_ = SIZE_MAX;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (groups[g].targets.empty()) first_linear_group_ = std::min(first_linear_group_, g);
    for (size_t t = 0; t < groups[g].targets.size(); ++t) {
      const NamePattern& p = groups[g].targets[t];
      // emplace keeps the first (lowest) group for a repeated text.
      switch (p.kind) {
        case NamePattern::Kind::kClass:
          if (p.text == "Linear") first_linear_group_ = std::min(first_linear_group_, g);
          break;
        case NamePattern::Kind::kExact:
          exact_target_.emplace(p.text, g);
          break;
        case NamePattern::Kind::kGlob: {
          std::string_view stem = p.literal_stem();
          if (stem.find_first_of("*?[") == std::string_view::npos)
            prefix_target_.emplace(std::string(stem), g);  // "x", "x*", "x.*" cover x's children
          if (p.is_literal()) {
            exact_target_.emplace(p.text, g);
          } else {
            wildcard_target_.emplace_back(g, t);
          }
          break;
        }
        case NamePattern::Kind::kRegex:
          wildcard_target_.emplace_back(g, t);
          break;
      }
    }
  }
  literal_ignore_.clear();
  wildcard_ignore_.clear();
  for (size_t i = 0; i < ignore.size(); ++i) {
    const NamePattern& p = ignore[i];
    if (p.kind == NamePattern::Kind::kClass) continue;
    if (!p.is_literal()) {
      wildcard_ignore_.push_back(i);
    } else {
      // A literal glob also covers its children ("x*" and "x.*" cover "x.y"); a literal
      // compressed-tensors entry names exactly one module.
      literal_ignore_.emplace(std::string(p.literal_stem()), i);
    }
  }
}

const NamePattern* QuantScheme::IgnoreWalk::ignored_by(std::string_view module, bool is_linear) {
  const QuantScheme& s = scheme_;
  if (s.literal_ignore_.empty()) {
    previous_ = {};
    return s.ignored_by(module, is_linear);  // the wildcards alone: nothing to share
  }
  const NamePattern* hit = s.literal_ignore_entry(module);
  // Parents longer than the common prefix are new; the shorter ones (and one of exactly that
  // length, when the previous module has it too) are the previous module's.
  const size_t common = common_prefix_length(module, previous_);
  next_.clear();
  size_t dot = module.rfind('.');
  for (; dot != std::string_view::npos; dot = dot == 0 ? std::string_view::npos
                                                        : module.rfind('.', dot - 1)) {
    bool shared = dot < common || (dot == common && dot < previous_.size() && previous_[dot] == '.');
    if (shared) break;
    next_.emplace_back(dot, s.literal_parent_entry(module.substr(0, dot)));
  }
  if (dot != std::string_view::npos) {
    for (const auto& p : parents_)
      if (p.first <= dot) next_.push_back(p);
  }
  std::swap(parents_, next_);
  previous_ = module;
  if (hit) return hit;
  for (const auto& p : parents_)
    if (p.second) return p.second;
  return s.wildcard_ignored_by(module, is_linear);
}

const NamePattern* QuantScheme::ignored_by(std::string_view module, bool is_linear) const {
  if (!literal_ignore_.empty()) {
    if (const NamePattern* exact = literal_ignore_entry(module)) return exact;
    std::string_view path = module;
    for (size_t dot = path.rfind('.'); dot != std::string_view::npos; dot = path.rfind('.')) {
      path = path.substr(0, dot);
      if (const NamePattern* parent = literal_parent_entry(path)) return parent;
    }
  }
  return wildcard_ignored_by(module, is_linear);
}

const NamePattern* QuantScheme::literal_ignore_entry(std::string_view module) const {
  auto it = literal_ignore_.find(module);
  return it == literal_ignore_.end() ? nullptr : &ignore[it->second];
}

const NamePattern* QuantScheme::literal_parent_entry(std::string_view parent) const {
  const NamePattern* p = literal_ignore_entry(parent);
  return p && p->kind == NamePattern::Kind::kGlob ? p : nullptr;
}

const NamePattern* QuantScheme::wildcard_ignored_by(std::string_view module,
                                                    bool is_linear) const {
  for (size_t i : wildcard_ignore_) {
    // A glob may name a parent module ("model.layers.*.self_attn" covers its projections);
    // a compressed-tensors regex is matched against the module itself, as the library does.
    std::string_view candidate = module;
    while (true) {
      if (ignore[i].matches(candidate, is_linear)) return &ignore[i];
      size_t dot = candidate.rfind('.');
      if (ignore[i].kind != NamePattern::Kind::kGlob || dot == std::string_view::npos) break;
      candidate = candidate.substr(0, dot);
    }
  }
  return nullptr;
}

QuantScheme parse_quant_scheme(const json* config, const json* hf_quant_config) {
  QuantScheme s;
  if (hf_quant_config && hf_quant_config->is_object()) {
    const json& hq = *hf_quant_config;
    const json& q = hq.contains("quantization") ? hq["quantization"] : hq;
    if (q.is_object()) {
      parse_modelopt(q, s);
      s.source_file = "hf_quant_config.json";
      s.index_patterns();
      return s;
    }
  }
  if (!config || !config->is_object()) return s;
  if (read_mlx_scheme(*config, s)) {  // mlx_scheme.cpp
    s.source_file = "config.json";
    s.index_patterns();
    return s;
  }
  const json* qc = nullptr;
  for (const char* key : {"quantization_config", "compression_config"}) {
    if (config->contains(key) && (*config)[key].is_object()) {
      qc = &(*config)[key];
      break;
    }
  }
  if (!qc && config->contains("text_config") && (*config)["text_config"].is_object() &&
      (*config)["text_config"].contains("quantization_config")) {
    qc = &(*config)["text_config"]["quantization_config"];
  }
  if (!qc || !qc->is_object()) return s;
  s.source_file = "config.json";
  s.method_name = str_or(*qc, "quant_method");
  std::string method = lower(s.method_name);
  if (method == "fp8") {
    s.method = QuantMethod::kFp8;
    QuantGroup g;
    g.name = "fp8";
    g.bits = 8;
    // transformers FineGrainedFP8Config / vLLM Fp8Config: absent or null is per tensor, else
    // two positive integers.
    bool block_ok = !qc->contains("weight_block_size") ||
                    optional_block((*qc)["weight_block_size"], "weight_block_size", s, g.block);
    g.format = !block_ok ? WeightFormat::kUnknown
               : g.block ? WeightFormat::kFp8Block
                         : WeightFormat::kFp8Tensor;
    s.scale_fmt = lower(str_or(*qc, "scale_fmt"));
    g.input = str_or(*qc, "activation_scheme", "dynamic") == "static" ? InputActivations::kStatic
                                                                      : InputActivations::kDynamic;
    s.groups.push_back(g);
    for (const char* key : {"modules_to_not_convert", "ignored_layers"}) {
      if (qc->contains(key) && (*qc)[key].is_array()) {
        s.ignore = glob_list((*qc)[key]);
        s.ignore_key = key;
        break;
      }
    }
  } else if (method == "compressed-tensors") {
    parse_compressed_tensors(*qc, s);
  } else if (method == "modelopt" || (method.empty() && looks_like_modelopt(*qc))) {
    parse_modelopt(*qc, s);
  } else if (method == "mxfp4") {
    s.method = QuantMethod::kMxfp4;
    QuantGroup g;
    g.name = "mxfp4";
    g.format = WeightFormat::kMxfp4;
    g.bits = 4;
    g.group_size = 32;
    s.groups.push_back(g);
    s.ignore = glob_list(qc->value("modules_to_not_convert", json::array()));
    s.ignore_key = "modules_to_not_convert";
  } else if (method == "fbgemm_fp8") {
    read_fbgemm_fp8_scheme(*qc, s);
  } else if (method == "quark") {
    read_quark_scheme(*qc, s);
  } else if (read_gptq_awq_scheme(*qc, method, s)) {
    // gptq_awq_scheme.cpp
  } else if (method == "bitsandbytes") {
    read_bnb_scheme(*qc, s);  // bnb_scheme.cpp
  } else {
    s.method = QuantMethod::kUnknown;
    if (s.method_name.empty()) s.method_name = "(no quant_method)";
  }
  s.index_patterns();
  // Entries RE2 refused and overlong globs (the uncompiled regexes past kMaxRegexEntries are
  // reported above).
  std::vector<std::string_view> refused;
  for (const NamePattern& p : s.ignore) {
    if (!p.valid() && (p.kind != NamePattern::Kind::kRegex || p.regex)) refused.push_back(p.text);
  }
  constexpr size_t kListed = 3;
  for (size_t i = 0; i < std::min(refused.size(), kListed); ++i) {
    s.problems.push_back(
        fmt::format("{} entry \"{}\" is not a valid pattern", s.ignore_key, config_name(refused[i])));
  }
  if (refused.size() > kListed) {
    s.problems.push_back(fmt::format("{} more {} entries are not valid patterns",
                                     refused.size() - kListed, s.ignore_key));
  }
  return s;
}

}  // namespace ckd

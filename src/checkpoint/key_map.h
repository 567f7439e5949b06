// Normalizes tensor names so a quantized checkpoint's keys can be compared with its BF16
// source's: quantization-only tensors drop out, weight_packed/_blocks become weight, and
// per-expert and fused expert layouts (FORMATS.md §7) meet at one key per layer.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ckd {

class Checkpoint;

// The comparable key of a tensor name, or empty for a tensor with no source counterpart
// (scales, zero points, g_idx, weight_shape, KV scales).
std::string normalize_key(std::string_view name);

// Normalized key -> one original tensor name carrying it.
std::unordered_map<std::string, std::string> normalized_keys(const Checkpoint& ck);

struct PrefixChange {
  std::string from;  // prefix in the quantized keys ("" for none), with trailing '.'
  std::string to;    // prefix in the source keys
  size_t count = 0;  // unmatched quantized keys it explains
  size_t unmatched = 0;
  std::string example_from, example_to;
};

// The single prefix rewrite that maps the most unmatched quantized keys onto source keys.
std::optional<PrefixChange> best_prefix_change(
    const std::unordered_map<std::string, std::string>& quantized,
    const std::unordered_map<std::string, std::string>& source);

// Applies `change` to a key when it starts with change.from.
std::string apply_prefix_change(const std::string& key, const PrefixChange& change);

// A quantized checkpoint's keys against its source's, computed once per scan for every
// --source rule.
struct SourceDiff {
  std::unordered_map<std::string, std::string> quantized;  // normalized key -> tensor name
  std::unordered_map<std::string, std::string> source;
  std::optional<PrefixChange> change;  // the best prefix rewrite, if any
  // The quantized keys with `change` applied: what should match the source's.
  std::unordered_map<std::string, std::string> quantized_mapped;
};

// `name` with every run of a wrapper segment written more than once in a row collapsed to one
// ("model.language_model.language_model.layers.0" -> "model.language_model.layers.0").
std::string collapse_repeated_segments(std::string_view name,
                                       const std::vector<std::string>& segments);

SourceDiff diff_against_source(const Checkpoint& quantized, const Checkpoint& source);

}  // namespace ckd

#include "checkpoint/key_map.h"

#include <algorithm>
#include <map>

#include "checkpoint/checkpoint.h"
#include "checkpoint/module_table.h"

namespace ckd {

namespace {

constexpr size_t kMaxStrip = 4;  // prefix segments tried on each side

// Byte offset just after the first k dot-separated segments, or npos.
size_t after_segments(std::string_view key, size_t k) {
  size_t pos = 0;
  for (size_t i = 0; i < k; ++i) {
    size_t dot = key.find('.', pos);
    if (dot == std::string_view::npos) return std::string_view::npos;
    pos = dot + 1;
  }
  return pos;
}

}  // namespace

std::string normalize_key(std::string_view name) {
  auto [module_view, param_view] = split_tensor_name(name);
  std::string module(module_view), param(param_view);
  TensorRole role = role_of_param(param, module);
  if (is_scale_role(role) || role == TensorRole::kZeroPoint || role == TensorRole::kGIdx ||
      role == TensorRole::kShape || role == TensorRole::kSparsityMask) {
    return "";
  }
  // Per-expert projections fold into the fused per-layer tensors.
  constexpr std::string_view kExperts = ".experts.";
  size_t at = module.find(kExperts);
  if (at != std::string::npos) {
    size_t id_start = at + kExperts.size();
    size_t id_end = id_start;
    while (id_end < module.size() && std::isdigit(static_cast<unsigned char>(module[id_end])))
      ++id_end;
    if (id_end > id_start && id_end < module.size() && module[id_end] == '.') {
      std::string layer = module.substr(0, at + kExperts.size() - 1);
      std::string proj = module.substr(id_end + 1);
      if (proj == "gate_proj" || proj == "up_proj" || proj == "w1" || proj == "w3")
        return layer + ".gate_up_proj";
      if (proj == "down_proj" || proj == "w2") return layer + ".down_proj";
      return layer + "." + proj + (param.empty() ? "" : "." + param);
    }
    if (param.empty() || param == "blocks") return module;  // fused experts (bare or gpt-oss)
    if (param == "bias") return module + "_bias";
  }
  if (role == TensorRole::kPackedWeight) return module + ".weight";
  return param.empty() ? module : module + "." + param;
}

std::unordered_map<std::string, std::string> normalized_keys(const Checkpoint& ck) {
  std::unordered_map<std::string, std::string> out;
  out.reserve(ck.tensor_names().size());
  for (std::string_view name : ck.tensor_names()) {
    std::string key = normalize_key(name);
    if (!key.empty()) out.emplace(std::move(key), std::string(name));
  }
  return out;
}

std::optional<PrefixChange> best_prefix_change(
    const std::unordered_map<std::string, std::string>& quantized,
    const std::unordered_map<std::string, std::string>& source) {
  // suffix -> source prefix, for every way of stripping up to kMaxStrip leading segments.
  std::unordered_map<std::string_view, std::string_view> by_suffix[kMaxStrip + 1];
  for (const auto& [key, original] : source) {
    for (size_t j = 0; j <= kMaxStrip; ++j) {
      size_t cut = after_segments(key, j);
      if (cut == std::string_view::npos) break;
      std::string_view k = key;
      by_suffix[j].emplace(k.substr(cut), k.substr(0, cut));
    }
  }
  std::map<std::pair<std::string, std::string>, std::pair<size_t, std::string>> votes;
  size_t unmatched = 0;
  for (const auto& [key, original] : quantized) {
    if (source.count(key)) continue;
    ++unmatched;
    std::string_view k = key;
    bool found = false;
    // Prefer the smallest total number of stripped segments.
    for (size_t total = 1; total <= 2 * kMaxStrip && !found; ++total) {
      for (size_t i = 0; i <= std::min(total, kMaxStrip) && !found; ++i) {
        size_t j = total - i;
        if (j > kMaxStrip) continue;
        size_t cut = after_segments(k, i);
        if (cut == std::string_view::npos) continue;
        // A bare "weight" suffix matches anything; demand a module path in common.
        if (k.substr(cut).find('.') == std::string_view::npos) continue;
        auto it = by_suffix[j].find(k.substr(cut));
        if (it == by_suffix[j].end()) continue;
        auto& vote = votes[{std::string(k.substr(0, cut)), std::string(it->second)}];
        if (vote.first++ == 0) vote.second = key;
        found = true;
      }
    }
  }
  if (votes.empty()) return std::nullopt;
  auto best = votes.begin();
  for (auto it = votes.begin(); it != votes.end(); ++it) {
    if (it->second.first > best->second.first) best = it;
  }
  PrefixChange change;
  change.from = best->first.first;
  change.to = best->first.second;
  change.count = best->second.first;
  change.unmatched = unmatched;
  change.example_from = quantized.at(best->second.second);
  change.example_to = apply_prefix_change(best->second.second, change);
  if (auto it = source.find(change.example_to); it != source.end()) change.example_to = it->second;
  return change;
}

std::string apply_prefix_change(const std::string& key, const PrefixChange& change) {
  if (key.compare(0, change.from.size(), change.from) != 0) return key;
  return change.to + key.substr(change.from.size());
}

SourceDiff diff_against_source(const Checkpoint& quantized, const Checkpoint& source) {
  SourceDiff diff;
  diff.quantized = normalized_keys(quantized);
  diff.source = normalized_keys(source);
  diff.change = best_prefix_change(diff.quantized, diff.source);
  for (const auto& [key, original] : diff.quantized) {
    diff.quantized_mapped.emplace(diff.change ? apply_prefix_change(key, *diff.change) : key,
                                  original);
  }
  return diff;
}

std::string collapse_repeated_segments(std::string_view name,
                                       const std::vector<std::string>& segments) {
  std::string out;
  out.reserve(name.size());
  std::string_view previous;
  bool first = true;
  while (true) {
    size_t dot = name.find('.');
    std::string_view segment = name.substr(0, dot);
    bool repeat = !first && segment == previous &&
                  std::find(segments.begin(), segments.end(), segment) != segments.end();
    if (!repeat) {
      if (!first) out += '.';
      out += segment;
    }
    previous = segment;
    first = false;
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  return out;
}

}  // namespace ckd

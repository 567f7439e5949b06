#include "rules/checks/util.h"

#include <algorithm>

#include "io/text_prefix.h"
#include "numerics/formats.h"

namespace ckd {

std::string with_commas(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string shape_string(std::span<const uint64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

std::string percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "0%";
  return fmt::format("{:.1f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

RepeatedSegmentWalk::Hit RepeatedSegmentWalk::next(std::string_view name) {
  const size_t common = common_prefix_length(name, name_);
  name_ = name;
  // The previous name's hit, when its segment and the dot after it are shared: the same pair
  // is this name's first (the run after it is counted again).
  if (hit_end_ != 0 && hit_end_ < common)
    return run_at(name.substr(hit_start_, hit_end_ - hit_start_), hit_end_);
  // Otherwise the segments shared whole (with their dot) need no second look.
  size_t shared = 0;
  while (shared + 1 < starts_.size() && starts_[shared + 1] <= common) ++shared;
  return walk_from(shared, shared < starts_.size() ? starts_[shared] : 0);
}

RepeatedSegmentWalk::Hit RepeatedSegmentWalk::walk_from(size_t index, size_t at) {
  hit_end_ = 0;
  // The segment before `at` (none at the start) is the first of the pair compared next.
  bool have_previous = index > 0;
  std::string_view previous;
  if (have_previous) previous = name_.substr(starts_[index - 1], at - 1 - starts_[index - 1]);
  starts_.resize(index);
  while (at < name_.size()) {
    starts_.push_back(at);
    const size_t dot = name_.find('.', at);
    const size_t end = dot == std::string_view::npos ? name_.size() : dot;
    const std::string_view segment = name_.substr(at, end - at);
    if (have_previous && segment == previous && is_wrapper(segment)) {
      hit_start_ = at;
      hit_end_ = end;
      return run_at(segment, end);
    }
    previous = segment;
    have_previous = true;
    if (dot == std::string_view::npos) break;
    at = dot + 1;
  }
  return {};
}

// The run of `segment` whose second occurrence ends at `end`: the segments after it that repeat
// it too.
RepeatedSegmentWalk::Hit RepeatedSegmentWalk::run_at(std::string_view segment, size_t end) const {
  size_t run = 2;
  std::string_view tail = end < name_.size() ? name_.substr(end + 1) : std::string_view();
  while (!tail.empty() && tail.substr(0, tail.find('.')) == segment) {
    ++run;
    const size_t next_dot = tail.find('.');
    tail = next_dot == std::string_view::npos ? std::string_view() : tail.substr(next_dot + 1);
  }
  return {segment, run};
}

bool RepeatedSegmentWalk::is_wrapper(std::string_view segment) const {
  return std::find(wrappers_.begin(), wrappers_.end(), segment) != wrappers_.end();
}

std::optional<ExpertKey> parse_expert_key(std::string_view name) {
  constexpr size_t kExpertsSize = std::string_view(".experts.").size();
  // Each ".experts." in order: the first one followed by a whole index.
  for (size_t at = find_experts_segment(name); at != std::string_view::npos;) {
    size_t digits_start = at + kExpertsSize;
    size_t i = digits_start;
    while (i < name.size() && name[i] >= '0' && name[i] <= '9') ++i;
    if (i > digits_start && i - digits_start <= 9 && i < name.size() && name[i] == '.') {
      uint64_t id = 0;
      for (size_t k = digits_start; k < i; ++k) id = id * 10 + static_cast<uint64_t>(name[k] - '0');
      return ExpertKey{name.substr(0, at + kExpertsSize - 1), id, name.substr(i + 1)};
    }
    const size_t next = find_experts_segment(name.substr(at + 1));
    at = next == std::string_view::npos ? next : at + 1 + next;
  }
  return std::nullopt;
}

void CappedEmitter::add(std::string file, std::string tensor, std::string message) {
  if (!ctx_.rule().selects_tensor(tensor)) return;  // neither listed nor counted
  ++total_;
  if (total_ <= limit_) ctx_.emit(std::move(file), std::move(tensor), std::move(message));
}

void CappedEmitter::add(const TensorRef& ref, std::string message) {
  add(ref.shard->display_name(), std::string(ref.info->name), std::move(message));
}

void CappedEmitter::finish(const std::string& what) {
  if (total_ > limit_) {
    ctx_.emit_omitted("", total_ - limit_,
                      fmt::format("... and {} more {} (first {} shown)",
                                  with_commas(total_ - limit_), what, limit_));
  }
}

std::optional<uint64_t> config_uint(const Checkpoint& ck, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    const nlohmann::json* v = ck.config_value(key);
    if (v && v->is_number_integer() && v->get<int64_t>() >= 0) return v->get<uint64_t>();
  }
  return std::nullopt;
}

const TensorRef& module_anchor(const Module& m) {
  if (const ModuleParam* w = m.weight()) return *w->ref;
  return *m.params.front().ref;
}

}  // namespace ckd

namespace ckd {

bool weight_dtype_fits(WeightFormat format, Dtype d) {
  const WeightFormatTraits* traits = format_traits(format);
  return !traits || traits->weight_dtypes.contains(d);
}

std::string expected_weight_dtypes(WeightFormat format) {
  const WeightFormatTraits* traits = format_traits(format);
  return traits ? std::string(traits->weight_dtypes_text) : "";
}

std::vector<std::vector<std::string>> required_weight_params(QuantMethod method,
                                                             const QuantGroup& g) {
  switch (g.format) {
    case WeightFormat::kFp8Block:
      if (method == QuantMethod::kFp8) return {{"weight_scale_inv"}};
      return {{"weight_scale"}};
    case WeightFormat::kFp8Tensor:
    case WeightFormat::kFp8Channel:
    case WeightFormat::kFp8Group:
    case WeightFormat::kInt8:
    case WeightFormat::kMxfp8:
      return {{"weight_scale"}};
    case WeightFormat::kNvfp4:
      if (method == QuantMethod::kModelOpt) return {{"weight_scale"}, {"weight_scale_2"}};
      return {{"weight_scale"}, {"weight_global_scale"}};
    case WeightFormat::kMxfp4:
      if (method == QuantMethod::kMxfp4) return {{"scales"}};
      return {{"weight_scale"}};
    case WeightFormat::kIntPacked:
      return {{"weight_scale"}, {"weight_shape"}};
    case WeightFormat::kGptq:
    case WeightFormat::kAwqGemm:
    case WeightFormat::kAwqGemv:
      return {{"scales"}, {"qzeros"}};
    case WeightFormat::kBnbInt8:
      return {{"SCB"}};
    case WeightFormat::kBnbNf4:
    case WeightFormat::kBnbFp4:
      return {};  // absmax, quant_map and the quant state: missing-quant-state
    case WeightFormat::kMlxAffine:
      return {{"scales"}, {"biases"}};
    case WeightFormat::kSparse24:  // bitmask and shape: scale-shape-mismatch, sparsity-mask
      return {};
    case WeightFormat::kSparse24Fp8Tensor:
    case WeightFormat::kSparse24Fp8Channel:
      return {{"weight_scale"}};
    case WeightFormat::kNone:
    case WeightFormat::kUnknown:
      return {};
  }
  return {};
}

std::string input_scale_param(QuantMethod method, const QuantGroup& g) {
  if (method == QuantMethod::kCompressedTensors && g.format == WeightFormat::kNvfp4)
    return "input_global_scale";
  return "input_scale";
}

std::optional<std::string> missing_input_scale(const Module& m, QuantMethod method) {
  const ModuleParam* w = m.weight();
  if (!w || !m.is_quantized() || !m.group || m.group->input != InputActivations::kStatic)
    return std::nullopt;
  if (w->ref->info->dtype && is_high_precision_float(*w->ref->info->dtype)) return std::nullopt;
  std::string wanted = input_scale_param(method, *m.group);
  if (m.param(wanted)) return std::nullopt;
  return wanted;
}

OutputHead find_output_head(const ModuleTable& modules) {
  OutputHead out;
  for (const Module& m : modules.modules()) {
    if (!m.weight()) continue;
    std::string_view p = m.path;
    if (p == "lm_head" || p.ends_with(".lm_head")) out.head = &m;
    out.has_embedding = out.has_embedding || p.find("embed_tokens") != std::string_view::npos;
  }
  return out;
}

}  // namespace ckd

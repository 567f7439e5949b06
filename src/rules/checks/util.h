// Small helpers shared by checks: number formatting, expert-key parsing, capped emission.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "rules/check.h"

namespace ckd {

// 12345678 -> "12,345,678"
std::string with_commas(uint64_t n);
std::string shape_string(std::span<const uint64_t> shape);
std::string percent(uint64_t part, uint64_t whole);

// "model.layers.3.mlp.experts.17.down_proj.weight" -> {"model.layers.3.mlp.experts", 17,
// "down_proj.weight"}
struct ExpertKey {
  std::string_view layer;  // views into the parsed name
  uint64_t expert;
  std::string_view rest;
};
std::optional<ExpertKey> parse_expert_key(std::string_view name);

// The first wrapper segment a name writes twice in a row ("model.language_model.language_model.
// layers.0...") and how many times in a row. Given names in sorted order the walk resumes where a
// name departs from the one before it (a 60k-tensor checkpoint's names differ in their last
// segments or two), with the answers a walk of each name from its start gives, in any order.
class RepeatedSegmentWalk {
 public:
  explicit RepeatedSegmentWalk(std::vector<std::string> wrappers)
      : wrappers_(std::move(wrappers)) {}
  struct Hit {
    std::string_view segment;  // a view into the name
    size_t run = 0;            // how many times in a row (2 or more); 0: no repeated wrapper
  };
  // `name` must stay valid until the next call (the walk keeps a view of it).
  Hit next(std::string_view name);

 private:
  Hit walk_from(size_t index, size_t at);
  Hit run_at(std::string_view segment, size_t end) const;
  bool is_wrapper(std::string_view segment) const;

  std::vector<std::string> wrappers_;
  std::string_view name_;               // the name walked last
  std::vector<size_t> starts_;          // its segments' offsets, as far as its walk went
  size_t hit_start_ = 0, hit_end_ = 0;  // its hit's second segment; hit_end_ == 0: no hit
};

// Emits up to `limit` findings, then one that counts the rest.
class CappedEmitter {
 public:
  CappedEmitter(const CheckContext& ctx, size_t limit) : ctx_(ctx), limit_(limit) {}
  void add(std::string file, std::string tensor, std::string message);
  void add(const TensorRef& ref, std::string message);
  // `what` completes "... and N more <what>".
  void finish(const std::string& what);
  size_t total() const { return total_; }

 private:
  const CheckContext& ctx_;
  size_t limit_;
  size_t total_ = 0;
};

// The unsigned integer value of a config key, looked up through text_config as well.
std::optional<uint64_t> config_uint(const Checkpoint& ck, std::initializer_list<const char*> keys);

// The file a module lives in (its weight's shard, or its first tensor's).
const TensorRef& module_anchor(const Module& m);

}  // namespace ckd

namespace ckd {

// Whether a weight stored as `dtype` is what `format` writes (U8/F4 for FP4, F8 for FP8, ...).
bool weight_dtype_fits(WeightFormat format, Dtype dtype);
std::string expected_weight_dtypes(WeightFormat format);

// Weight-side tensors a quantized module must carry, for the declared method and format. Each
// entry lists acceptable parameter names; the first is the conventional one.
std::vector<std::vector<std::string>> required_weight_params(QuantMethod method,
                                                             const QuantGroup& g);

// The activation-scale parameter a statically quantized module carries.
std::string input_scale_param(QuantMethod method, const QuantGroup& g);

// The input-scale parameter a module should carry but does not: it is quantized (its weight
// low-precision) under a group that declares static activations. Empty when nothing is missing.
// Shared by the missing-input-scale rule and the inject-input-scale fix.
std::optional<std::string> missing_input_scale(const Module& m, QuantMethod method);

// lm_head (or a nested "...lm_head") with a weight, and whether an embedding weight exists to tie
// it to. Shared by the lm-head-tying rules and the drop-tied-lm-head fix.
struct OutputHead {
  const Module* head = nullptr;
  bool has_embedding = false;
};
OutputHead find_output_head(const ModuleTable& modules);

}  // namespace ckd

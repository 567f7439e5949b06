// Scale dtypes the declared format does not write, and one scale role stored in mixed dtypes
// (FORMATS.md §12.3; FAILURES.md F1).
#include <map>
#include <set>

#include "rules/checks/util.h"

namespace ckd {
namespace {

std::set<Dtype> expected_dtypes(WeightFormat f, const std::string& param) {
  switch (f) {
    case WeightFormat::kNvfp4:
      if (param == "weight_scale") return {Dtype::kF8_E4M3};
      return {Dtype::kF32};
    case WeightFormat::kMxfp4:
    case WeightFormat::kMxfp8:
      if (param == "weight_scale" || param == "scales") return {Dtype::kU8, Dtype::kF8_E8M0};
      return {};
    case WeightFormat::kFp8Block:
      return {Dtype::kF32, Dtype::kBF16, Dtype::kF8_E8M0, Dtype::kU8};
    default:
      return {Dtype::kF32, Dtype::kBF16, Dtype::kF16};
  }
}

class UnexpectedScaleDtypeCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    struct Seen {
      size_t count = 0;
      const TensorRef* example = nullptr;
      WeightFormat format = WeightFormat::kUnknown;
    };
    std::map<std::string, std::map<Dtype, Seen>> by_param;
    for (const Module& m : ck.modules().modules()) {
      const QuantGroup* g = m.group;
      if (!g) continue;
      for (const ModuleParam& p : m.params) {
        if (!is_scale_role(p.role) || p.role == TensorRole::kKvScale || !p.ref->info->dtype)
          continue;
        Seen& s = by_param[std::string(p.name)][*p.ref->info->dtype];
        if (s.count++ == 0) s.example = p.ref, s.format = g->format;
      }
    }
    for (const auto& [param, dtypes] : by_param) {
      for (const auto& [dtype, seen] : dtypes) {
        auto allowed = expected_dtypes(seen.format, param);
        if (allowed.empty() || allowed.count(dtype)) continue;
        std::vector<std::string> names;
        for (Dtype d : allowed) names.emplace_back(dtype_name(d));
        ctx.emit(*seen.example,
                 fmt::format("{} of {} {} modules is {}; the format stores {} (loaders "
                             "reinterpret or reject the bytes)",
                             param, with_commas(seen.count), weight_format_name(seen.format),
                             dtype_name(dtype), fmt::join(names, " or ")));
      }
      if (dtypes.size() > 1) {
        std::vector<std::string> parts;
        const TensorRef* minority = nullptr;
        size_t fewest = SIZE_MAX;
        for (const auto& [dtype, seen] : dtypes) {
          parts.push_back(fmt::format("{} in {}", dtype_name(dtype), with_commas(seen.count)));
          if (seen.count < fewest) fewest = seen.count, minority = seen.example;
        }
        ctx.emit(*minority, fmt::format("{} is stored in mixed dtypes ({}); kernels expect one",
                                        param, fmt::join(parts, ", ")));
      }
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_unexpected_scale_dtype_check() {
  return std::make_unique<UnexpectedScaleDtypeCheck>();
}

}  // namespace ckd

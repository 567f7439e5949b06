// Scale (and packed zero-point) dtypes the declared format does not write, and one scale role
// stored in mixed dtypes (FORMATS.md §12.3; FAILURES.md F1).
#include <map>
#include <set>

#include "numerics/formats.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

// The format table's dtypes for a scale of `role`: the per-block scale, or the global and input
// scales (empty: not checked).
DtypeSet expected_dtypes(WeightFormat f, TensorRole role) {
  const WeightFormatTraits* traits = format_traits(f);
  if (!traits) return {};
  if (role == TensorRole::kZeroPoint) return traits->zero_point_dtypes;
  return role == TensorRole::kWeightScale ? traits->block_scale_dtypes : traits->other_scale_dtypes;
}

// Scales, and the zero points of formats whose table row fixes their dtype (GPTQ / AWQ qzeros).
bool checked_role(WeightFormat f, TensorRole role) {
  if (role == TensorRole::kZeroPoint) return !expected_dtypes(f, role).empty();
  return is_scale_role(role) && role != TensorRole::kKvScale;
}

class UnexpectedScaleDtypeCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    struct Seen {
      size_t count = 0;
      const TensorRef* example = nullptr;
      WeightFormat format = WeightFormat::kUnknown;
      TensorRole role = TensorRole::kOther;
    };
    // Looked up by view: 30k scales of a few names, no string built per scale.
    std::map<std::string, std::map<Dtype, Seen>, std::less<>> by_param;
    for (const Module& m : ck.modules().modules()) {
      const QuantGroup* g = m.group;
      if (!g) continue;
      for (const ModuleParam& p : m.params) {
        if (!checked_role(g->format, p.role) || !p.ref->info->dtype) continue;
        auto at = by_param.find(p.name);
        if (at == by_param.end())
          at = by_param.emplace(std::string(p.name), std::map<Dtype, Seen>{}).first;
        Seen& s = at->second[*p.ref->info->dtype];
        if (s.count++ == 0) s.example = p.ref, s.format = g->format, s.role = p.role;
      }
    }
    for (const auto& [param, dtypes] : by_param) {
      for (const auto& [dtype, seen] : dtypes) {
        DtypeSet allowed = expected_dtypes(seen.format, seen.role);
        if (allowed.empty() || allowed.contains(dtype)) continue;
        ctx.emit(*seen.example,
                 fmt::format("{} of {} {} modules is {}; the format stores {} (loaders "
                             "reinterpret or reject the bytes)",
                             param, with_commas(seen.count), weight_format_name(seen.format),
                             dtype_name(dtype), allowed.names()));
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

// g_idx (GPTQ) / weight_g_idx (compressed-tensors actorder) that cannot map input columns onto
// the quantization groups (FAILURES.md part 3; GPTQModel #2949, llm-compressor PR #3038): a
// value outside [0, groups) is an out-of-bounds read in the kernels, a group no column maps to
// means the g_idx belongs to another shape, and act order (GPTQ desc_act, compressed-tensors
// actorder "group") without a saved g_idx leaves the loader the identity order: silently wrong
// weights. Reads only the g_idx bytes.
#include <vector>

#include "io/checked.h"
#include "numerics/formats.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

// The input size and group count the module's declaration and weight give, when they do.
struct GroupGrid {
  uint64_t in = 0;
  uint64_t groups = 0;
};

std::optional<GroupGrid> group_grid(const Module& m, const QuantGroup& g) {
  const ModuleParam* w = m.weight();
  const WeightFormatTraits* traits = format_traits(g.format);
  if (!w || !traits || !w->ref->info->dtype || w->ref->info->shape.size() != 2) return std::nullopt;
  const auto& ws = w->ref->info->shape;
  auto logical = logical_matrix(*traits, *w->ref->info->dtype, g.bits, ws[0], ws[1]);
  // compressed-tensors pads packed rows, so its `in` is only an upper bound.
  if (logical && logical->in > 0 && traits->packing != WeightPacking::kInt32AlongRow) {
    return GroupGrid{logical->in, g.group_size ? ceil_div(logical->in, g.group_size) : 1};
  }
  // Otherwise the groups are the [out, groups] scale's columns.
  const ModuleParam* scale = m.param("weight_scale");
  if (!scale || scale->ref->info->shape.size() != 2) return std::nullopt;
  return GroupGrid{0, scale->ref->info->shape[1]};
}

class InvalidGroupIndexCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    CappedEmitter out(ctx, 25);
    for (const Module& m : ctx.checkpoint().modules().modules()) {
      const QuantGroup* g = m.group;
      if (!g || !m.weight()) continue;
      const ModuleParam* g_idx = m.first_with_role(TensorRole::kGIdx);
      if (!g_idx) {
        if (g->act_order) {
          out.add(module_anchor(m),
                  fmt::format("{} declares act order ({}) but {} has no g_idx: loaders keep "
                              "the identity order and dequantize with the wrong groups",
                              weight_format_name(g->format),
                              g->format == WeightFormat::kGptq ? "desc_act" : "actorder group",
                              m.path));
        }
        continue;
      }
      auto grid = group_grid(m, *g);
      if (grid) check_values(*g_idx, *grid, out);
    }
    out.finish("modules with invalid group indices");
  }

 private:
  static void check_values(const ModuleParam& g_idx, const GroupGrid& grid, CappedEmitter& out) {
    const TensorInfo& t = *g_idx.ref->info;
    if (!t.readable || t.dtype != Dtype::kI32) {
      out.add(*g_idx.ref, fmt::format("g_idx is {}; loaders read int32 group numbers",
                                      t.dtype ? dtype_name(*t.dtype) : "an unknown dtype"));
      return;
    }
    if (grid.in > 0 && t.numel != grid.in) {
      out.add(*g_idx.ref, fmt::format("g_idx has {} entries but the weight has {} input columns",
                                      t.numel, grid.in));
      return;
    }
    if (grid.groups == 0) return;
    // Every group needs a column; this also bounds the table below by the bytes in the file
    // (a header-only shape like [2^40, 0] cannot size an allocation).
    if (grid.groups > t.numel) {
      out.add(*g_idx.ref, fmt::format("g_idx has {} entries for {} groups: some group has no "
                                      "input column",
                                      t.numel, grid.groups));
      return;
    }
    std::string_view bytes = g_idx.ref->shard->tensor_bytes(t);
    std::vector<bool> seen(grid.groups, false);
    uint64_t outside = 0, first_outside = 0;
    int32_t first_value = 0;
    for (uint64_t i = 0; i + 4 <= bytes.size(); i += 4) {
      int32_t v = static_cast<int32_t>(
          static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) |
          static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
          static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 2])) << 16 |
          static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 3])) << 24);
      if (v < 0 || static_cast<uint64_t>(v) >= grid.groups) {
        if (outside++ == 0) first_outside = i / 4, first_value = v;
        continue;
      }
      seen[static_cast<size_t>(v)] = true;
    }
    if (outside > 0) {
      out.add(*g_idx.ref,
              fmt::format("{} of {} g_idx values are outside [0, {}) (first: index {} = {}); "
                          "kernels read scales out of bounds",
                          with_commas(outside), with_commas(t.numel), grid.groups, first_outside,
                          first_value));
      return;
    }
    uint64_t missing = 0, first_missing = 0;
    for (uint64_t k = 0; k < grid.groups; ++k) {
      if (!seen[k] && missing++ == 0) first_missing = k;
    }
    if (missing > 0) {
      out.add(*g_idx.ref,
              fmt::format("{} of {} groups have no input column in g_idx (first: group {}); the "
                          "index does not belong to this weight's groups",
                          with_commas(missing), with_commas(grid.groups), first_missing));
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_invalid_group_index_check() {
  return std::make_unique<InvalidGroupIndexCheck>();
}

}  // namespace ckd

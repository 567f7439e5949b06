// A scale's (or packed zero point's) shape disagrees with its weight and the declared block /
// group size, using ceil grids (FORMATS.md §3.2, §4.3, §10; FAILURES.md F2, F3). The grid comes
// from the format table (numerics/formats.h). Never infers the block from shapes.
#include <array>
#include <span>

#include "io/checked.h"
#include "numerics/formats.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

using Dims = std::vector<uint64_t>;  // a shape built here

uint64_t numel(std::span<const uint64_t> s) {
  uint64_t n = 1;
  for (uint64_t d : s) n *= d;
  return n;
}

// One shape a scale may have: the weight's leading (expert) dims when `leading`, then `tail`
// (at most four dims: the longest is modelopt's block grid).
// Compared in place, so the common case (the shape fits) allocates nothing (31k modules in the
// bench checkpoint).
struct Allowed {
  bool leading = true;
  std::array<uint64_t, 4> tail{};
  size_t rank = 0;

  static Allowed after_leading(std::initializer_list<uint64_t> dims) { return of(true, dims); }
  static Allowed exactly(std::initializer_list<uint64_t> dims) { return of(false, dims); }

  bool matches(const Shape& got, std::span<const uint64_t> lead) const {
    size_t l = leading ? lead.size() : 0;
    if (got.size() != l + rank) return false;
    return std::equal(lead.begin(), lead.begin() + static_cast<long>(l), got.begin()) &&
           std::equal(tail.begin(), tail.begin() + static_cast<long>(rank),
                      got.begin() + static_cast<long>(l));
  }
  Dims shape(std::span<const uint64_t> lead) const {
    Dims s;
    if (leading) s.assign(lead.begin(), lead.end());
    s.insert(s.end(), tail.begin(), tail.begin() + static_cast<long>(rank));
    return s;
  }

 private:
  static Allowed of(bool leading, std::initializer_list<uint64_t> dims) {
    Allowed a;
    a.leading = leading;
    for (uint64_t d : dims) a.tail[a.rank++] = d;
    return a;
  }
};

class ScaleShapeMismatchCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    CappedEmitter out(ctx, 25);
    for (const Module& m : ck.modules().modules()) {
      const ModuleParam* w = m.weight();
      const QuantGroup* g = m.group;
      if (!w || !g || !w->ref->info->dtype || !weight_dtype_fits(g->format, *w->ref->info->dtype))
        continue;
      const WeightFormatTraits* traits = format_traits(g->format);
      if (!traits) continue;
      const Shape& ws = w->ref->info->shape;
      if (m.param("blocks")) {
        check_gpt_oss(m, out);
        continue;
      }
      if (ws.size() < 2) continue;
      std::span<const uint64_t> leading(ws.data(), ws.size() - 2);
      uint64_t rows = ws[ws.size() - 2];
      uint64_t cols = ws.back();
      auto logical = logical_matrix(*traits, *w->ref->info->dtype, g->bits, rows, cols);
      if (!logical) {
        out.add(*w->ref, fmt::format("{} weight {} is not a whole number of {}-bit values in its "
                                     "int32 words",
                                     traits->name, shape_string(ws), g->bits));
        continue;
      }
      uint64_t in = logical->in;
      // `why` is a callable: the explanation is only formatted for a mismatch.
      auto expect = [&](const char* param, std::initializer_list<Allowed> allowed, auto why) {
        const ModuleParam* p = m.param(param);
        if (!p) return;
        const Shape& got = p->ref->info->shape;
        for (const Allowed& a : allowed) {
          if (a.matches(got, leading)) return;
        }
        out.add(*p->ref, fmt::format("{} is {} but weight {} ({}) needs {}", param,
                                     shape_string(got), shape_string(ws), why(),
                                     shape_string(allowed.begin()->shape(leading))));
      };
      auto with_leading = [](std::initializer_list<uint64_t> tail) {
        return Allowed::after_leading(tail);
      };
      uint64_t leading_numel = 1;
      for (uint64_t d : leading) leading_numel *= d;
      auto single_ok = [&](std::string_view param) {
        const ModuleParam* p = m.param(param);
        if (!p) return;
        uint64_t n = numel(p->ref->info->shape);
        if (n == 1 || (!leading.empty() && n == leading_numel)) return;
        out.add(*p->ref, fmt::format("{} is {} ({} values) but {} keeps one per tensor", param,
                                     shape_string(p->ref->info->shape), n, traits->name));
      };
      switch (traits->grid) {
        case ScaleGrid::kBlock: {
          if (!g->block || (!m.param("weight_scale_inv") && !m.param("weight_scale"))) break;
          uint64_t bn = (*g->block)[0], bk = (*g->block)[1];
          Allowed grid = with_leading({ceil_div(rows, bn), ceil_div(in, bk)});
          Allowed modelopt = with_leading({ceil_div(rows, bn), 1, ceil_div(in, bk), 1});
          auto why = [&] { return fmt::format("block [{}, {}], ceil grid", bn, bk); };
          expect("weight_scale_inv", {grid}, why);
          // modelopt FP8_PB_WO writes a 0-d weight_scale when one block covers the weight
          // (its 64x128 and 128x128 projections in fixtures/producers/mo-fp8-block: the
          // block quantizer's single amax / 448, modelopt 0.47 unified_export_hf.py).
          bool one_block = leading.empty() && rows <= bn && in <= bk;
          if (one_block) {
            expect("weight_scale", {grid, modelopt, Allowed::exactly({})}, why);
          } else {
            expect("weight_scale", {grid, modelopt}, why);
          }
          break;
        }
        case ScaleGrid::kTensor:
          single_ok("weight_scale");
          break;
        case ScaleGrid::kChannel:
          expect("weight_scale", {with_leading({rows, 1}), with_leading({rows})},
                 [] { return std::string("one scale per output row"); });
          // bitsandbytes LLM.int8: SCB, each row's absmax (nn/modules.py Int8Params).
          expect("SCB", {with_leading({rows})},
                 [] { return std::string("one absmax per output row"); });
          break;
        case ScaleGrid::kFlatBlocks:
          break;  // bitsandbytes absmax: held to the quant state by missing-quant-state
        case ScaleGrid::kGroupAlongRow:
          check_group_along_row(m, *g, *traits, rows, in, expect, with_leading, out);
          if (!traits->global_scales.front().name.empty()) {
            // A two-level format: the global and the static input scales are one per tensor.
            for (const GlobalScaleParam& global : traits->global_scales) {
              if (!global.name.empty()) single_ok(global.name);
            }
            single_ok("input_scale");
            single_ok("input_global_scale");
          }
          break;
        case ScaleGrid::kGroupByInput:
        case ScaleGrid::kAwqGemv:
          check_packed_int_groups(*g, *traits, *logical, expect);
          break;
      }
    }
    out.finish("scale shape mismatches");
  }

 private:
  // [out, ceil(in/g)] scales: compressed-tensors groups, NVFP4 (16 unless declared), MX (32).
  template <typename Expect, typename WithLeading>
  static void check_group_along_row(const Module& m, const QuantGroup& g,
                                    const WeightFormatTraits& traits, uint64_t rows, uint64_t in,
                                    Expect& expect, WithLeading& with_leading, CappedEmitter& out) {
    if (traits.zero_points == ZeroPoints::kAffineBias) {
      // MLX: scales and biases [out, in/group_size] (mlx/ops.cpp quantize).
      auto why = [&] {
        return fmt::format("{} {}-bit, group_size {}, in = {}", traits.name, g.bits, g.group_size,
                           in);
      };
      if (g.group_size == 0) return;
      expect("scales", {with_leading({rows, ceil_div(in, g.group_size)})}, why);
      expect("biases", {with_leading({rows, ceil_div(in, g.group_size)})}, why);
      return;
    }
    const ModuleParam* s = m.param("weight_scale");
    if (traits.packing == WeightPacking::kInt32AlongRow) {
      // compressed-tensors pads packed rows, so only the output rows can be held to the weight.
      if (s && (s->ref->info->shape.size() < 2 ||
                s->ref->info->shape[s->ref->info->shape.size() - 2] != rows)) {
        out.add(*s->ref, fmt::format("weight_scale is {} but packed weight has {} rows",
                                     shape_string(s->ref->info->shape), rows));
      }
      return;
    }
    uint64_t group = g.group_size ? g.group_size : traits.fixed_group;
    if (group == 0) return;
    // A 1-D U8 scale for a format whose scales are not bytes is a swizzled (kernel-layout) copy.
    if (s && s->ref->info->shape.size() == 1 && s->ref->info->dtype == Dtype::kU8 &&
        !traits.block_scale_dtypes.contains(Dtype::kU8)) {
      return;
    }
    expect("weight_scale", {with_leading({rows, ceil_div(in, group)})},
           [&] { return fmt::format("{}, {} values per scale, in = {}", traits.name, group, in); });
  }

  // GPTQ / AWQ: scales and packed qzeros per group of input columns (formats.h rows cite the
  // producers' buffers).
  template <typename Expect>
  static void check_packed_int_groups(const QuantGroup& g, const WeightFormatTraits& traits,
                                      LogicalMatrix logical, Expect& expect) {
    uint64_t in = logical.in, out = logical.out;
    uint64_t groups = g.group_size ? ceil_div(in, g.group_size) : 1;
    auto why = [&] {
      return fmt::format("{} {}-bit, out = {}, in = {}, group_size {}", traits.name, g.bits, out,
                         in, g.group_size ? std::to_string(g.group_size) : "-1");
    };
    auto packed_out = checked_mul(out, static_cast<uint64_t>(g.bits));
    uint64_t zero_words = packed_out ? *packed_out / 32 : 0;
    if (traits.grid == ScaleGrid::kGroupByInput) {
      expect("scales", {Allowed::exactly({groups, out})}, why);
      expect("qzeros", {Allowed::exactly({groups, zero_words})}, why);
      return;
    }
    // AWQ GEMV pads the groups of each row to whole int32 words and to the kernel's split
    // (AutoAWQ gemv.py calculate_zeros_width).
    uint64_t multiplier = g.group_size >= 128  ? 1
                          : g.group_size == 64 ? 2
                          : g.group_size == 32 ? 4
                                               : 0;
    if (multiplier == 0 || g.group_size == 0) return;
    uint64_t width = ceil_div(ceil_div(in / g.group_size, 8), multiplier) * multiplier;
    expect("qzeros", {Allowed::exactly({out, width})}, why);
    expect("scales", {Allowed::exactly({out, width * 8})}, why);
  }

  static void check_gpt_oss(const Module& m, CappedEmitter& out) {
    const ModuleParam* blocks = m.param("blocks");
    const ModuleParam* scales = m.param("scales");
    const Shape& b = blocks->ref->info->shape;
    if (b.empty() || b.back() != 16) {
      out.add(*blocks->ref,
              fmt::format("MXFP4 blocks are {} but the last dimension must be 16 bytes (32 values)",
                          shape_string(b)));
      return;
    }
    if (!scales) return;
    Dims expected(b.begin(), b.end() - 1);
    if (scales->ref->info->shape != expected) {
      out.add(*scales->ref,
              fmt::format("scales are {} but blocks {} need {} (one E8M0 exponent per 32 values)",
                          shape_string(scales->ref->info->shape), shape_string(b),
                          shape_string(expected)));
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_scale_shape_mismatch_check() {
  return std::make_unique<ScaleShapeMismatchCheck>();
}

}  // namespace ckd

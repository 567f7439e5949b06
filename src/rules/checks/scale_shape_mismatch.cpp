// A scale's shape disagrees with its weight and the declared block / group size, using ceil
// grids (FORMATS.md §3.2, §4.3, §10; FAILURES.md F2, F3). Never infers the block from shapes.
#include "io/checked.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

using Shape = std::vector<uint64_t>;

uint64_t numel(const Shape& s) {
  uint64_t n = 1;
  for (uint64_t d : s) n *= d;
  return n;
}

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
      const Shape& ws = w->ref->info->shape;
      if (m.param("blocks")) {
        check_gpt_oss(m, out);
        continue;
      }
      if (ws.size() < 2) continue;
      Shape leading(ws.begin(), ws.end() - 2);
      uint64_t rows = ws[ws.size() - 2];
      uint64_t cols = ws.back();
      bool packed_fp4 = (g->format == WeightFormat::kNvfp4 || g->format == WeightFormat::kMxfp4) &&
                        *w->ref->info->dtype == Dtype::kU8;
      uint64_t in = packed_fp4 ? cols * 2 : cols;
      // `why` is a callable: the explanation is only formatted for a mismatch.
      auto expect = [&](const char* param, const std::vector<Shape>& allowed, auto why) {
        const ModuleParam* p = m.param(param);
        if (!p) return;
        const Shape& got = p->ref->info->shape;
        for (const Shape& a : allowed) {
          if (got == a) return;
        }
        out.add(*p->ref,
                fmt::format("{} is {} but weight {} ({}) needs {}", param, shape_string(got),
                            shape_string(ws), why(), shape_string(allowed.front())));
      };
      auto with_leading = [&](Shape tail) {
        Shape s = leading;
        s.insert(s.end(), tail.begin(), tail.end());
        return s;
      };
      auto single_ok = [&](const char* param) {
        const ModuleParam* p = m.param(param);
        if (!p) return;
        uint64_t n = numel(p->ref->info->shape);
        if (n == 1 || (!leading.empty() && n == numel(leading))) return;
        out.add(*p->ref,
                fmt::format("{} is {} ({} values) but {} keeps one per tensor", param,
                            shape_string(p->ref->info->shape), n, weight_format_name(g->format)));
      };
      switch (g->format) {
        case WeightFormat::kFp8Block: {
          if (!g->block || (!m.param("weight_scale_inv") && !m.param("weight_scale"))) break;
          uint64_t bn = (*g->block)[0], bk = (*g->block)[1];
          Shape grid = with_leading({ceil_div(rows, bn), ceil_div(in, bk)});
          Shape modelopt = with_leading({ceil_div(rows, bn), 1, ceil_div(in, bk), 1});
          auto why = [&] { return fmt::format("block [{}, {}], ceil grid", bn, bk); };
          expect("weight_scale_inv", {grid}, why);
          // modelopt FP8_PB_WO writes a 0-d weight_scale when one block covers the weight
          // (its 64x128 and 128x128 projections in fixtures/producers/mo-fp8-block: the
          // block quantizer's single amax / 448, modelopt 0.47 unified_export_hf.py).
          bool one_block = leading.empty() && rows <= bn && in <= bk;
          expect("weight_scale",
                 one_block ? std::vector<Shape>{grid, modelopt, Shape{}}
                           : std::vector<Shape>{grid, modelopt},
                 why);
          break;
        }
        case WeightFormat::kFp8Tensor:
          single_ok("weight_scale");
          break;
        case WeightFormat::kFp8Channel:
          expect("weight_scale", {with_leading({rows, 1}), with_leading({rows})},
                 [] { return std::string("one scale per output row"); });
          break;
        case WeightFormat::kFp8Group:
        case WeightFormat::kInt8:
          if (g->group_size > 0) {
            expect("weight_scale", {with_leading({rows, ceil_div(in, g->group_size)})},
                   [&] { return fmt::format("group size {}", g->group_size); });
          }
          break;
        case WeightFormat::kNvfp4: {
          uint64_t group = g->group_size ? g->group_size : 16;
          const ModuleParam* s = m.param("weight_scale");
          if (s && s->ref->info->shape.size() == 1 && s->ref->info->dtype == Dtype::kU8)
            break;  // swizzled
          expect("weight_scale", {with_leading({rows, ceil_div(in, group)})},
                 [&] { return fmt::format("NVFP4, {} values per scale, in = {}", group, in); });
          single_ok("weight_scale_2");
          single_ok("weight_global_scale");
          single_ok("input_scale");
          single_ok("input_global_scale");
          break;
        }
        case WeightFormat::kMxfp4:
        case WeightFormat::kMxfp8:
          expect("weight_scale", {with_leading({rows, ceil_div(in, 32)})}, [&] {
            return fmt::format("{}, 32 values per scale, in = {}", weight_format_name(g->format),
                               in);
          });
          break;
        case WeightFormat::kIntPacked: {
          const ModuleParam* s = m.param("weight_scale");
          if (s && (s->ref->info->shape.size() < 2 ||
                    s->ref->info->shape[s->ref->info->shape.size() - 2] != rows)) {
            out.add(*s->ref,
                    fmt::format("weight_scale is {} but packed weight {} has {} rows",
                                shape_string(s->ref->info->shape), shape_string(ws), rows));
          }
          break;
        }
        default:
          break;
      }
    }
    out.finish("scale shape mismatches");
  }

 private:
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
    Shape expected(b.begin(), b.end() - 1);
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

// compressed-tensors sparse-24-bitmask modules whose bitmask or shape does not fit their
// compressed values (compressed-tensors 0.14.0.1 sparse_compressors/sparse_24_bitmask.py):
// compressed [out, in/2], bitmask U8 [out, ceil(in/8)], shape I64 [2, 1] = [out, in], and every
// group of four elements keeping exactly two. The decompressor scatters each row's values onto
// the set bits in order (torch boolean-mask assignment), so a group with three bits shifts the
// rest of the row onto the wrong columns and a short row borrows the next row's values; vLLM's
// CompressedTensors24 then re-compresses the result for its 2:4 kernels, which fails or runs a
// different matrix. Reads the bitmask and shape bytes only (1/16 of a BF16 weight).
#include <cstring>

#include "io/checked.h"
#include "numerics/formats.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

class InvalidSparsityMaskCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    CappedEmitter out(ctx, 25);
    for (const Module& m : ctx.checkpoint().modules().modules()) {
      const WeightFormatTraits* traits = m.group ? format_traits(m.group->format) : nullptr;
      if (!traits || traits->packing != WeightPacking::kSparse24Bitmask) continue;
      check_module(m, out);
    }
    out.finish("2:4 sparse modules with an invalid bitmask or shape");
  }

 private:
  static void check_module(const Module& m, CappedEmitter& out) {
    const ModuleParam* values = m.param("compressed");
    const ModuleParam* mask = m.param("bitmask");
    const ModuleParam* shape = m.param("shape");
    if (!values || !mask || !shape) {
      out.add(module_anchor(m),
              fmt::format("{} is declared sparse-24-bitmask but lacks {}: the decompressor "
                          "needs compressed, bitmask and shape",
                          m.path, !values ? "compressed" : !mask ? "bitmask" : "shape"));
      return;
    }
    const TensorInfo& vi = *values->ref->info;
    if (vi.shape.size() != 2) {
      out.add(*values->ref, fmt::format("compressed is {}, not 2-D [out, in/2]",
                                        shape_string(vi.shape)));
      return;
    }
    const uint64_t rows = vi.shape[0];
    auto in = checked_mul(vi.shape[1], 2);
    if (!in) return;
    const uint64_t mask_cols = ceil_div(*in, 8);
    const TensorInfo& mi = *mask->ref->info;
    if (mi.dtype != Dtype::kU8 || mi.shape != std::vector<uint64_t>{rows, mask_cols}) {
      out.add(*mask->ref,
              fmt::format("bitmask is {} {} but compressed {} needs U8 [{}, {}] (one bit per "
                          "element of the [{}, {}] weight)",
                          mi.dtype ? dtype_name(*mi.dtype) : "?", shape_string(mi.shape),
                          shape_string(vi.shape), rows, mask_cols, rows, *in));
      return;
    }
    const TensorInfo& si = *shape->ref->info;
    if (si.dtype != Dtype::kI64 || si.numel != 2 || !si.readable) {
      out.add(*shape->ref, fmt::format("shape is {} {}; the decompressor reads two int64 values",
                                       si.dtype ? dtype_name(*si.dtype) : "?",
                                       shape_string(si.shape)));
      return;
    }
    std::string_view dims = shape->ref->shard->tensor_bytes(si);
    int64_t dense[2];
    std::memcpy(dense, dims.data(), sizeof dense);
    if (dense[0] != static_cast<int64_t>(rows) || dense[1] != static_cast<int64_t>(*in)) {
      out.add(*shape->ref, fmt::format("shape says [{}, {}] but compressed {} holds a [{}, {}] "
                                       "weight",
                                       dense[0], dense[1], shape_string(vi.shape), rows, *in));
      return;
    }
    if (*in % 4 != 0) {
      out.add(*values->ref, fmt::format("the weight has {} columns, not a multiple of 4: rows "
                                        "cannot be 2:4 groups",
                                        *in));
      return;
    }
    if (!mi.readable) return;  // an invalid byte range is the shard's finding
    Sparse24MaskCount bad = count_bad_24_groups(mask->ref->shard->tensor_bytes(mi), rows, *in);
    if (bad.bad_groups == 0) return;
    out.add(*mask->ref,
            fmt::format("{} of {} groups of four keep other than 2 values (first: row {}, "
                        "columns {}-{} keep {}); the values land on the wrong columns",
                        with_commas(bad.bad_groups), with_commas(rows * (*in / 4)), bad.first_row,
                        4 * bad.first_group, 4 * bad.first_group + 3, bad.first_kept));
  }
};

}  // namespace

std::unique_ptr<Check> make_invalid_sparsity_mask_check() {
  return std::make_unique<InvalidSparsityMaskCheck>();
}

}  // namespace ckd

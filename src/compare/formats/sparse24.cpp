// compressed-tensors sparse-24-bitmask (0.14.0.1 compressors/sparse_compressors/
// sparse_24_bitmask.py, Sparse24BitMaskTensor; the format left compressed-tensors in 0.15):
// `compressed` [out, in/2] holds each row's kept values in order, `bitmask` U8 [out, ceil(in/8)]
// where they go (utils/helpers.py pack_bitmasks: numpy packbits, bitorder "little"), `shape`
// I64 [2, 1] the dense [out, in]. Unquantized the values are the model's floats; stacked over
// FP8 (model_compressor.py compress_model quantizes first) they are E4M3 codes with a per-tensor
// or per-channel weight_scale, W = fp8(q) x s. vLLM's CompressedTensors24 decompresses the same
// way before its 2:4 kernels (compressed_tensors_24.py _decompress_bitmask_compressed_weight).
#include <cstring>

#include <fmt/format.h>

#include "checkpoint/checkpoint.h"
#include "compare/layout.h"
#include "io/checked.h"

namespace ckd {

Layout describe_sparse24(const Module& module, const QuantGroup& group) {
  const ModuleParam* values = module.param("compressed");
  const ModuleParam* mask = module.param("bitmask");
  const ModuleParam* shape = module.param("shape");
  if (!values || !mask || !shape) return {std::nullopt, "no compressed, bitmask or shape tensor"};
  const TensorInfo& vi = *values->ref->info;
  const TensorInfo& mi = *mask->ref->info;
  const TensorInfo& si = *shape->ref->info;
  const bool fp8 = group.format != WeightFormat::kSparse24;
  if (!vi.dtype || vi.shape.size() != 2 ||
      (fp8 ? vi.dtype != Dtype::kF8_E4M3
           : vi.dtype != Dtype::kBF16 && vi.dtype != Dtype::kF16 && vi.dtype != Dtype::kF32))
    return {std::nullopt, fmt::format("compressed is not a 2-D {} tensor",
                                      fp8 ? "F8_E4M3" : "BF16, F16 or F32")};
  if (si.dtype != Dtype::kI64 || si.numel != 2 || !si.readable)
    return {std::nullopt, "shape is not two readable I64 values"};
  int64_t dense[2];
  std::memcpy(dense, ref_bytes(*shape->ref).data(), 16);
  const uint64_t rows = vi.shape[0];
  const std::optional<uint64_t> dense_cols = checked_mul(vi.shape[1], 2);
  if (!dense_cols) return {std::nullopt, "compressed has more columns than any weight"};
  const uint64_t cols = *dense_cols;
  if (dense[0] < 0 || dense[1] < 0 || static_cast<uint64_t>(dense[0]) != rows ||
      static_cast<uint64_t>(dense[1]) != cols || cols % 4 != 0)
    return {std::nullopt, fmt::format("shape [{}, {}] is not compressed {}'s [{}, {}] with a "
                                      "multiple of 4 columns",
                                      dense[0], dense[1], fmt::join(vi.shape, ", "), rows, cols)};
  if (mi.dtype != Dtype::kU8 || mi.shape != std::vector<uint64_t>{rows, (cols + 7) / 8} ||
      !mi.readable)
    return {std::nullopt, fmt::format("bitmask is not a readable U8 [{}, {}]", rows,
                                      (cols + 7) / 8)};
  std::string_view mask_bytes = ref_bytes(*mask->ref);
  Sparse24MaskCount bad = count_bad_24_groups(mask_bytes, rows, cols);
  if (bad.bad_groups > 0)
    return {std::nullopt,
            fmt::format("{} groups of four keep other than two values (row {}, columns {}-{}: {})",
                        bad.bad_groups, bad.first_row, 4 * bad.first_group,
                        4 * bad.first_group + 3, bad.first_kept)};
  QuantizedMatrix m;
  m.coding = ElementCoding::kSparse24Bitmask;
  m.sparse_values = *vi.dtype;
  m.sparse_mask = std::make_shared<std::vector<unsigned char>>(mask_bytes.begin(),
                                                               mask_bytes.end());
  m.rows = rows;
  m.cols = cols;
  m.codes = values->ref;
  m.block_rows = rows;  // unquantized: one scale of 1 (compare leaves m.scales null)
  m.block_cols = cols;
  if (fp8) {
    const ModuleParam* s = module.first_with_role(TensorRole::kWeightScale);
    if (!s) return {std::nullopt, "no weight_scale"};
    const TensorInfo& sc = *s->ref->info;
    if (sc.dtype != Dtype::kF32 && sc.dtype != Dtype::kBF16 && sc.dtype != Dtype::kF16)
      return {std::nullopt, "the weight scale is not F32, BF16 or F16"};
    m.scales = s->ref;
    m.scale_dtype = *sc.dtype;
    if (std::string problem = fit_scale_grid(m, sc.shape, 0, 0); !problem.empty())
      return {std::nullopt, problem};
    if (m.block_cols != cols)
      return {std::nullopt, "the weight scale is neither per tensor nor per output channel"};
  }
  return {m, ""};
}

}  // namespace ckd

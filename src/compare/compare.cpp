#include "compare/compare.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <mutex>

#include <fmt/format.h>

#include "checkpoint/checkpoint.h"
#include "compare/error_sums.h"
#include "compare/layout.h"
#include "compare/pairing.h"
#include "io/byte_source.h"
#include "io/parallel.h"
#include "io/progress.h"
#include "rules/rule_set.h"

#include "compare/cuda_spec.h"

namespace ckd {

namespace {

struct Job {
  const Module* module;
  QuantizedMatrix matrix;
  SourceSlice slice;
};

using Sums = ErrorSums;

// Reads the module chunk by chunk (codes and the matching source elements, gathered from a
// transposed source) and hands each to `consume(codes, source, first_row, rows)`.
template <typename Consume>
void for_each_chunk(const Job& job, uint64_t rows_per_chunk, char* codes, char* source,
                    Consume&& consume) {
  const QuantizedMatrix& m = job.matrix;
  const SourceSlice& slice = job.slice;
  const Shard& code_shard = *m.codes->shard;
  const TensorInfo& src = *slice.ref->info;
  ByteSource& src_bytes = slice.ref->shard->source();
  const uint64_t esz = dtype_bits(*src.dtype) / 8;
  const uint64_t src_base = slice.ref->shard->data_start() + src.begin;
  const uint64_t row_bytes = m.code_bytes_per_row();
  const uint64_t rows_per_expert = m.rows / m.experts;
  const uint64_t code_base = code_shard.data_start() + m.codes->info->begin;
  for (uint64_t e = 0; e < m.experts; ++e) {
    const uint64_t expert_at = e * slice.expert_stride + slice.offset;  // elements
    // A transposed source is read as a mapped view of the expert's [cols, ld] block and
    // gathered column by column: no copy of the block, memory still bounded by the chunk.
    std::string_view block;
    if (slice.transposed)
      block = src_bytes.read(src_base + expert_at * esz,
                             ((m.cols - 1) * slice.ld + rows_per_expert) * esz);
    for (uint64_t r = 0; r < rows_per_expert; r += rows_per_chunk) {
      uint64_t n = std::min(rows_per_chunk, rows_per_expert - r);
      uint64_t row = e * rows_per_expert + r;  // in the decoded module
      char* chunk_codes = codes;
      char* chunk_source = source;
      consume.prepare(chunk_codes, chunk_source);
      code_shard.source().copy_to(code_base + row * row_bytes, n * row_bytes, chunk_codes);
      if (slice.transposed) {
        gather_transposed_rows(block.data(), slice.ld, m.cols, r, n, esz, chunk_source);
      } else {
        src_bytes.copy_to(src_base + (expert_at + r * m.cols) * esz, n * m.cols * esz,
                          chunk_source);
      }
      consume(chunk_codes, chunk_source, row, n);
    }
  }
}

// Chunks start on a whole unit of rows (GPTQ's rows sharing int32 words).
uint64_t whole_units(const QuantizedMatrix& m, uint64_t rows) {
  const uint64_t unit = m.row_unit();
  return (rows + unit - 1) / unit * unit;
}

// GPTQ and AWQ GEMM store the weight's transpose, [in, out]. Compared in the source's
// orientation instead: a block of 16 source rows (output channels) is read where it lies, and
// the codes of the same 16 columns are decoded straight into rows of their own, so neither side
// is read down a column (gathering the source down its columns took half of the time). The
// sums run over the source's rows, lanes by input channel: as reproducible as by stored rows,
// in their own fixed order (independent of the chunk size and the thread count).
Sums compare_by_column_blocks(const Job& job, const std::vector<float>& scales,
                              const std::vector<float>& zeros) {
  const QuantizedMatrix& m = job.matrix;
  const SourceSlice& slice = job.slice;
  const TensorInfo& src = *slice.ref->info;
  const Dtype source_dtype = *src.dtype;
  const uint64_t esz = dtype_bits(source_dtype) / 8;
  const uint64_t in = m.rows, out = m.cols;
  std::string_view codes = m.codes->shard->source().read(
      m.codes->shard->data_start() + m.codes->info->begin, m.codes->info->nbytes());
  std::string_view block =
      slice.ref->shard->source().read(slice.ref->shard->data_start() + src.begin + slice.offset * esz,
                                      ((out - 1) * slice.ld + in) * esz);
  constexpr uint64_t kBlock = 16;
  // Padded rows: 16 rows a power of two apart would share their cache sets.
  const uint64_t stride = in + 16;
  std::vector<float> decoded(kBlock * stride), reference(in);
  Sums sums;
  for (uint64_t c0 = 0; c0 < out; c0 += kBlock) {
    const uint64_t width = std::min(kBlock, out - c0);
    decode_column_block(m, scales, zeros, codes, c0, width, decoded.data(), stride);
    for (uint64_t c = 0; c < width; ++c) {
      source_to_float(reinterpret_cast<const unsigned char*>(block.data()) + (c0 + c) * slice.ld * esz,
                      source_dtype, in, reference.data());
      sums.add_row(decoded.data() + c * stride, reference.data(), in);
    }
  }
  return sums;
}

// The CPU reference: decode_rows() and the reproducible float64 sums of ErrorSums, a unit of
// rows at a time (one row but for GPTQ) so that a row's decoded and source floats are still in
// the L1 cache when they are summed.
Sums compare_on_cpu(const Job& job, const std::vector<float>& scales,
                    const std::vector<float>& zeros, uint64_t chunk_elements) {
  const QuantizedMatrix& m = job.matrix;
  if (job.slice.transposed && decodes_column_blocks(m))
    return compare_by_column_blocks(job, scales, zeros);
  const Dtype source_dtype = *job.slice.ref->info->dtype;
  const uint64_t esz = dtype_bits(source_dtype) / 8;
  const uint64_t row_bytes = m.code_bytes_per_row();
  // Read in pieces that stay in the L2 cache between the copy and the sums (at most the chunk,
  // rounded up to a whole unit of rows). A transposed source is gathered from a stretch of each
  // of its rows per piece (gather_transposed_rows): pieces of at least 128 rows, or a TLB miss
  // and a cache line would be spent on a few elements.
  constexpr uint64_t kCachedElements = 1u << 16, kTransposedRows = 128;
  const uint64_t unit = m.row_unit();
  uint64_t piece_rows = std::min(chunk_elements, kCachedElements) / m.cols;
  if (job.slice.transposed)
    piece_rows = std::min(chunk_elements / m.cols, std::max(piece_rows, kTransposedRows));
  const uint64_t rows_per_chunk = whole_units(m, std::max<uint64_t>(1, piece_rows));
  std::vector<char> codes(rows_per_chunk * row_bytes);
  std::vector<char> source(rows_per_chunk * m.cols * esz);
  std::vector<float> decoded(unit * m.cols), reference(m.cols);
  Sums sums;
  struct Consumer {
    const QuantizedMatrix& m;
    const std::vector<float>& scales;
    const std::vector<float>& zeros;
    std::vector<float>& decoded;
    std::vector<float>& reference;
    Dtype source_dtype;
    uint64_t row_bytes, esz, unit;
    Sums& sums;
    void prepare(char*&, char*&) {}
    void operator()(char* codes, char* source, uint64_t row, uint64_t n) {
      for (uint64_t i = 0; i < n; i += unit) {
        const uint64_t k = std::min(unit, n - i);
        decode_rows(m, scales, zeros, std::string_view(codes + i * row_bytes, k * row_bytes),
                    row + i, k, decoded.data());
        for (uint64_t j = 0; j < k; ++j) {
          source_to_float(reinterpret_cast<const unsigned char*>(source) + (i + j) * m.cols * esz,
                          source_dtype, m.cols, reference.data());
          sums.add_row(decoded.data() + j * m.cols, reference.data(), m.cols);
        }
      }
    }
  } consumer{m, scales, zeros, decoded, reference, source_dtype, row_bytes, esz, unit, sums};
  for_each_chunk(job, rows_per_chunk, codes.data(), source.data(), consumer);
  return sums;
}

// Why the GPU leaves this module to the CPU, or nullptr.
const char* cpu_only(const QuantizedMatrix& m) {
  if (const char* why = cuda_fallback_reason(m.coding)) return why;
  if (m.input_groups) return "the kernels read contiguous scale groups, not a g_idx";
  return nullptr;
}

#ifdef CKD_WITH_CUDA
}  // namespace

cuda::ModuleSpec cuda_module_spec(const QuantizedMatrix& m, Dtype source) {
  cuda::ModuleSpec spec;
  spec.coding = m.coding;
  spec.bits = m.bits;
  spec.cols = m.cols;
  spec.row_bytes = m.code_bytes_per_row();
  spec.block_rows = m.block_rows;
  spec.block_cols = m.block_cols;
  spec.scale_cols = m.scale_cols;
  spec.source = source == Dtype::kBF16  ? cuda::SourceType::kBF16
                : source == Dtype::kF16 ? cuda::SourceType::kF16
                                        : cuda::SourceType::kF32;
  return spec;
}

namespace {

// The GPU: the same chunks, read into two pinned slots so the next chunk is read while the
// device reduces the current one.
Sums compare_on_cuda(const Job& job, const std::vector<float>& scales,
                     const std::vector<float>& zeros, uint64_t chunk_elements) {
  const QuantizedMatrix& m = job.matrix;
  const Dtype source_dtype = *job.slice.ref->info->dtype;
  cuda::ModuleSpec spec = cuda_module_spec(m, source_dtype);
  // Larger chunks than the CPU's: a kernel launch per chunk must be worth it.
  const uint64_t rows_per_chunk = std::max<uint64_t>(1, 16 * chunk_elements / m.cols);
  cuda::ModuleComparer gpu(spec, scales, zeros, rows_per_chunk);
  struct Consumer {
    cuda::ModuleComparer& gpu;
    int slot = 0;
    void prepare(char*& codes, char*& source) {
      gpu.wait(slot);
      codes = gpu.codes(slot);
      source = gpu.source(slot);
    }
    void operator()(char*, char*, uint64_t row, uint64_t n) {
      gpu.submit(slot, row, n);
      slot ^= 1;
    }
  } consumer{gpu};
  for_each_chunk(job, rows_per_chunk, nullptr, nullptr, consumer);
  cuda::Sums s = gpu.finish();
  Sums out;  // the device's own reduction, in lane 0
  out.diff2[0] = s.diff2;
  out.ref2[0] = s.ref2;
  out.max_abs = s.max_abs;
  out.measured = s.measured;
  out.nan = s.nan;
  out.inf = s.inf;
  out.source_nan = s.source_nan;
  out.source_inf = s.source_inf;
  return out;
}
#endif

// ||W^ - W|| / ||W|| over the measured elements: infinite when the source is all zeros and the
// decode is not, NaN (not measured, a failure) when no element could be measured.
double relative_error(const Sums& s) {
  if (s.measured == 0) return std::nan("");
  const double diff2 = s.diff2_total(), ref2 = s.ref2_total();
  if (ref2 > 0) return std::sqrt(diff2) / std::sqrt(ref2);
  return diff2 > 0 ? INFINITY : 0.0;
}

ModuleError compare_one(const Job& job, uint64_t chunk_elements, bool on_gpu) {
  const QuantizedMatrix& m = job.matrix;
  // Unquantized 2:4 sparse values have no scale: one of 1 (m's grid is a single block).
  std::vector<float> scales =
      m.scales ? effective_scales(m, ref_bytes(*m.scales)) : std::vector<float>{1.0f};
#ifdef CKD_WITH_CUDA
  on_gpu = on_gpu && !cpu_only(m);  // the others run on the CPU
#endif
  // The float codings' CPU decoders never read zero points: no grid of zeros to allocate and
  // clear (4 MiB for an NVFP4 [4096, 4096] module).
  const bool float_coding =
      m.coding == ElementCoding::kF8E4M3 || m.coding == ElementCoding::kE2M1Packed;
  std::vector<float> zeros =
      float_coding && !m.zero_points && !on_gpu
          ? std::vector<float>()
          : zero_point_grid(m, m.zero_points ? ref_bytes(*m.zero_points) : std::string_view());
#ifdef CKD_WITH_CUDA
  Sums sums = on_gpu ? compare_on_cuda(job, scales, zeros, chunk_elements)
                     : compare_on_cpu(job, scales, zeros, chunk_elements);
#else
  (void)on_gpu;
  Sums sums = compare_on_cpu(job, scales, zeros, chunk_elements);
#endif
  ModuleError e;
  e.module = job.module->path;
  e.format = m.format;
  e.source = job.slice.name;
  e.elements = m.rows * m.cols;
  e.nan = sums.nan;
  e.inf = sums.inf;
  e.source_nan = sums.source_nan;
  e.source_inf = sums.source_inf;
  e.max_abs_error = sums.max_abs;
  e.rel_error = relative_error(sums);
  return e;
}

// The group of a module stored compressed-tensors "dense" (not resolved as a quantized group by
// the checkpoint: nothing in it is stored quantized), or nullptr.
const QuantGroup* dense_group(const QuantScheme& scheme, const Module& m) {
  if (m.ignored) return nullptr;
  const QuantGroup* g = scheme.group_for(m.path, true);
  return g && g->dense_of != WeightFormat::kNone ? g : nullptr;
}

// The group of a module the declaration quantizes in a format ckptdoctor does not model (the
// checkpoint leaves such modules without a group), or nullptr.
const QuantGroup* unmodelled_group(const QuantScheme& scheme, const Module& m) {
  if (m.ignored) return nullptr;
  const QuantGroup* g = scheme.group_for(m.path, true);
  return g && g->format == WeightFormat::kUnknown ? g : nullptr;
}

// The shards of a checkpoint that could not be opened at all (missing, unreadable, outside the
// directory): their tensors are in no module, so they are failures of their own.
void unreadable_shards(const Checkpoint& ck, const std::string& which,
                       std::vector<UndecodableModule>& out) {
  for (const LoadProblem& p : ck.problems()) {
    const char* what = p.kind == LoadProblemKind::kMissingShard      ? "it does not exist"
                       : p.kind == LoadProblemKind::kUnreadableShard ? "it cannot be read"
                       : p.kind == LoadProblemKind::kUnsafePath      ? "it lies outside the directory"
                                                                     : nullptr;
    if (!what) continue;
    out.push_back({which + p.file, fmt::format("{}shard {} not read: {}{}", which, p.file, what,
                                               p.message.empty() ? "" : " (" + p.message + ")")});
  }
}

// Module path -> "tensor in shard" for the index entries whose shard could not be opened: what
// such a module lacks, said where it is.
std::map<std::string, std::string, std::less<>> tensors_in_unread_shards(const Checkpoint& ck) {
  std::map<std::string, std::string, std::less<>> out;
  if (!ck.index()) return out;
  const IndexFile& index = *ck.index();
  for (size_t i = 0; i < index.size(); ++i) {
    if (ck.shard(index.shard_of(i))) continue;
    std::string module(split_tensor_name(index.tensor(i)).first);
    out.emplace(module, fmt::format("{} is in {}, which could not be read", index.tensor(i),
                                    index.shard_of(i)));
  }
  return out;
}

// Why one of the module's tensors cannot be read (a byte range outside a truncated file), or "".
std::string unreadable_tensor(const QuantizedMatrix& m) {
  for (const TensorRef* ref : {m.codes, m.scales, m.zero_points, m.nested_absmax, m.nested_code}) {
    if (ref && !ref->info->readable) {
      return fmt::format("{}: tensor {} has an invalid byte range (bytes {}-{} of a {}-byte file)",
                         ref->shard->display_name(), ref->info->name,
                         ref->shard->data_start() + ref->info->begin,
                         ref->shard->data_start() + ref->info->end, ref->shard->file_size());
    }
  }
  return "";
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
}

ErrorSummary summarize(const std::vector<const ModuleError*>& errors) {
  ErrorSummary s;
  std::vector<double> rel;
  for (const ModuleError* e : errors) {
    rel.push_back(std::isnan(e->rel_error) ? INFINITY : e->rel_error);  // not measured: worst
    s.failed += e->passed ? 0 : 1;
  }
  s.modules = rel.size();
  s.median = percentile(rel, 0.5);
  s.p95 = percentile(rel, 0.95);
  s.max = rel.empty() ? 0 : *std::max_element(rel.begin(), rel.end());
  return s;
}

}  // namespace

bool cuda_usable(std::string* description) {
#ifdef CKD_WITH_CUDA
  return cuda::device_available(description);
#else
  if (description) *description = "this build has no CUDA decoder (nvcc was not found)";
  return false;
#endif
}

double roundtrip_limit(const Rule& rule, const std::string& format) {
  const nlohmann::json& limits = rule.params.value("max_rel_error", nlohmann::json::object());
  if (!limits.contains(format) || !limits[format].is_number()) {
    throw std::runtime_error(fmt::format(
        "rule {}: params.max_rel_error has no limit for format \"{}\"", rule.name, format));
  }
  return limits[format].get<double>();
}

std::string layer_of(const std::string& module) {
  constexpr std::string_view kLayers = "layers.";
  size_t at = module.find(kLayers);
  while (at != std::string::npos) {
    size_t start = at + kLayers.size(), end = start;
    while (end < module.size() && std::isdigit(static_cast<unsigned char>(module[end]))) ++end;
    if (end > start && (at == 0 || module[at - 1] == '.')) return module.substr(start, end - start);
    at = module.find(kLayers, at + 1);
  }
  return "other";
}

CompareReport run_compare(const CompareRequest& request) {
  auto start = std::chrono::steady_clock::now();
  if (!request.rule) throw std::runtime_error("compare needs the roundtrip-error rule");
  OpenOptions options;
  options.threads = request.threads;
  auto quant = Checkpoint::open(request.quant_dir, options);
  auto source = Checkpoint::open(request.source_dir, options);
  const QuantScheme& scheme = quant->scheme();
  const bool stored_dense =
      std::any_of(scheme.groups.begin(), scheme.groups.end(),
                  [](const QuantGroup& g) { return g.dense_of != WeightFormat::kNone; });
  if (!scheme.quantizes() && !stored_dense) {
    throw std::runtime_error(fmt::format(
        "{}: declares no quantization ({}); there is nothing to dequantize", request.quant_dir,
        scheme.method == QuantMethod::kUnknown ? "unknown method"
        : scheme.method == QuantMethod::kNone  ? "no quantization_config"
                                               : "its quantization_config quantizes no weights"));
  }
  CompareReport report;
  report.stored_dense = stored_dense;
  report.quant_dir = request.quant_dir;
  report.source_dir = request.source_dir;
  SourcePairer pairer(*quant, *source);
  if (pairer.prefix_change()) {
    report.prefix_change = fmt::format(
        "{} -> {}", pairer.prefix_change()->from.empty() ? "\"\"" : pairer.prefix_change()->from,
        pairer.prefix_change()->to.empty() ? "\"\"" : pairer.prefix_change()->to);
  }
  unreadable_shards(*quant, "", report.undecodable);
  unreadable_shards(*source, "source ", report.undecodable);
  auto unread = tensors_in_unread_shards(*quant);
  std::vector<Job> jobs;
  for (const Module& m : quant->modules().modules()) {
    const QuantGroup* dense = m.group ? nullptr : dense_group(quant->scheme(), m);
    if (auto it = unread.find(m.path); it != unread.end()) {
      // Part of the module is in a shard that could not be read.
      if (m.group || dense)
        report.undecodable.push_back({std::string(m.path), "cannot decode: " + it->second});
      unread.erase(it);
      continue;
    }
    if (!m.is_linear()) continue;
    if (!m.group && !dense) {
      if (const QuantGroup* g = unmodelled_group(scheme, m))
        report.undecodable.push_back(
            {std::string(m.path), fmt::format("cannot decode: its declared quantization ({}) is not modelled",
                                 g->name.empty() ? "unnamed group" : g->name)});
      continue;
    }
    Layout layout = dense ? describe_dense(m, *dense) : describe_module(m);
    if (!layout.matrix) {
      report.undecodable.push_back({std::string(m.path), "cannot decode: " + layout.problem});
      continue;
    }
    const QuantizedMatrix& qm = *layout.matrix;
    if (std::string problem = unreadable_tensor(qm); !problem.empty()) {
      report.undecodable.push_back({std::string(m.path), "cannot decode: " + problem});
      continue;
    }
    if (qm.codes->info->nbytes() != qm.rows * qm.code_bytes_per_row()) {
      report.undecodable.push_back(
          {std::string(m.path), "cannot decode: the weight's size does not match its shape"});
      continue;
    }
    Pairing pairing =
        pairer.pair(std::string(m.path), qm.experts, qm.rows / qm.experts, qm.cols, qm.input_major);
    if (!pairing.slice) {
      (pairing.absent ? report.unpaired : report.undecodable).push_back({std::string(m.path), pairing.problem});
      continue;
    }
    jobs.push_back({&m, qm, *pairing.slice});
  }

  // Modules whose every tensor is in an unread shard: the declaration would quantize them.
  for (const auto& [path, where] : unread) {
    if (!is_never_quantized_name(path) && scheme.group_for(path, true) &&
        !scheme.ignored_by(path, true))
      report.undecodable.push_back({path, "cannot decode: " + where});
  }

  bool on_gpu = false;
  if (request.device != "cpu") {
    std::string why;
    on_gpu = cuda_usable(&why);
    if (!on_gpu && request.device == "cuda")
      throw std::runtime_error(fmt::format("--device cuda: {}", why));
    report.device = on_gpu ? fmt::format("cuda ({})", why) : "cpu";
  }
  if (on_gpu) {
    for (const Job& job : jobs) {
      if (const char* why = cpu_only(job.matrix)) report.cpu_fallback.emplace(job.matrix.format, why);
    }
  }
  std::vector<ModuleError> results(jobs.size());
  std::vector<std::string> read_failures(jobs.size());
  std::vector<std::exception_ptr> failures(jobs.size());
  ProgressLine progress(request.progress, "compare", jobs.size(), ProgressLine::Unit::kItems,
                        "modules");
  parallel_for(jobs.size(), request.threads, [&](size_t i) {
    // A file that fails while it is read (shrunk, I/O error) fails its module, not the run;
    // anything else reaches the caller (exit 2) from this thread.
    struct Done {
      ProgressLine& line;
      ~Done() { line.add(1); }
    } done{progress};
    try {
      results[i] = compare_one(jobs[i], request.chunk_elements, on_gpu);
    } catch (const IoError& e) {
      read_failures[i] = e.what();
    } catch (...) {
      failures[i] = std::current_exception();
    }
  });
  for (const auto& f : failures) {
    if (f) std::rethrow_exception(f);
  }
  std::vector<ModuleError> measured;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!read_failures[i].empty()) {
      report.undecodable.push_back({std::string(jobs[i].module->path), "cannot read: " + read_failures[i]});
      continue;
    }
    ModuleError& e = results[i];
    e.limit = roundtrip_limit(*request.rule, e.format);
    e.passed = e.nan == 0 && e.inf == 0 && e.source_nan == 0 && e.source_inf == 0 &&
               std::isfinite(e.rel_error) && e.rel_error <= e.limit;
    report.failed += e.passed ? 0 : 1;
    report.quant_bytes += jobs[i].matrix.codes->info->nbytes();
    report.source_bytes += e.elements * (dtype_bits(*jobs[i].slice.ref->info->dtype) / 8);
    measured.push_back(std::move(e));
  }
  results = std::move(measured);
  std::stable_sort(results.begin(), results.end(), [](const ModuleError& a, const ModuleError& b) {
    double ra = std::isfinite(a.rel_error) ? a.rel_error : 1e308;
    double rb = std::isfinite(b.rel_error) ? b.rel_error : 1e308;
    if (a.passed != b.passed) return !a.passed;
    return ra > rb;
  });
  report.tensors = std::move(results);
  std::map<std::string, std::vector<const ModuleError*>> formats, layers;
  for (const ModuleError& e : report.tensors) {
    formats[e.format].push_back(&e);
    layers[layer_of(e.module)].push_back(&e);
  }
  for (const auto& [name, list] : formats) report.by_format[name] = summarize(list);
  for (const auto& [name, list] : layers) report.by_layer[name] = summarize(list);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace ckd

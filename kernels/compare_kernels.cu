#include "compare_cuda.h"

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstring>
#include <mutex>
#include <stdexcept>

#include "numerics/float_decode.h"

namespace ckd::cuda {

namespace {

__constant__ float kE4M3[256];
__constant__ float kE2M1[16];

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    throw std::runtime_error(std::string("CUDA: ") + what + ": " + cudaGetErrorString(e));
}

void upload_tables() {
  static std::once_flag once;  // per process (modules run on several host threads)
  std::call_once(once, [] {
    check(cudaMemcpyToSymbol(kE4M3, f8_e4m3fn_table().data(), sizeof kE4M3), "upload E4M3 table");
    check(cudaMemcpyToSymbol(kE2M1, e2m1_table().data(), sizeof kE2M1), "upload E2M1 table");
  });
}

struct DeviceSums {
  double diff2, ref2;
  unsigned long long max_abs_bits;  // a non-negative double's bits order like the double
  unsigned long long measured, nan, inf, source_nan, source_inf;
};

// unpack_bits() of src/compare/quantized_matrix.cpp.
__device__ uint32_t unpack_bits(const unsigned char* words, uint64_t i, int bits, bool dense) {
  const uint64_t b = static_cast<uint64_t>(bits);
  uint64_t bit = dense ? i * b : (i / (32 / b)) * 32 + (i % (32 / b)) * b;
  uint64_t byte = bit / 8, shift = bit % 8;
  uint32_t v = words[byte];
  if (shift + b > 8) v |= static_cast<uint32_t>(words[byte + 1]) << 8;
  return (v >> shift) & ((1u << b) - 1);
}

// decode_rows() of src/compare/quantized_matrix.cpp, one element.
__device__ float decode_element(const ModuleSpec& m, const unsigned char* row, uint64_t c,
                                float s, float z) {
  switch (m.coding) {
    case Coding::kF8E4M3:
      return kE4M3[row[c]] * s;
    case Coding::kE2M1Packed: {
      unsigned char b = row[c / 2];
      return kE2M1[(c & 1) ? (b >> 4) : (b & 0x0F)] * s;
    }
    case Coding::kInt8:
      return (static_cast<float>(static_cast<int8_t>(row[c])) - z) * s;
    case Coding::kIntDense:
    case Coding::kIntLegacy: {
      int32_t q = static_cast<int32_t>(unpack_bits(row, c, m.bits, m.coding == Coding::kIntDense)) -
                  (1 << (m.bits - 1));
      return (static_cast<float>(q) - z) * s;
    }
    default:
      // Not a coding the kernels decode (the host sends none: cuda_decodes()); NaN fails the
      // module instead of decoding its bytes as something else.
      return __int_as_float(0x7fc00000);
  }
}

__device__ float source_element(SourceType t, const unsigned char* p, uint64_t i) {
  if (t == SourceType::kBF16) {
    uint32_t bits = static_cast<uint32_t>(p[2 * i] | (p[2 * i + 1] << 8)) << 16;
    return __uint_as_float(bits);
  }
  if (t == SourceType::kF16) {
    __half_raw raw;
    raw.x = static_cast<unsigned short>(p[2 * i] | (p[2 * i + 1] << 8));
    return __half2float(__half(raw));
  }
  float f;
  memcpy(&f, p + 4 * i, 4);
  return f;
}

__global__ void reduce_chunk(ModuleSpec m, const unsigned char* codes, const unsigned char* source,
                             const float* scales, const float* zeros, uint64_t first_row,
                             uint64_t rows, DeviceSums* sums, float* decoded_out) {
  double diff2 = 0, ref2 = 0, max_abs = 0;
  unsigned long long measured = 0, nan = 0, inf = 0, source_nan = 0, source_inf = 0;
  const uint64_t n = rows * m.cols;
  for (uint64_t i = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
    uint64_t r = i / m.cols, c = i % m.cols;
    uint64_t grid = ((first_row + r) / m.block_rows) * m.scale_cols + c / m.block_cols;
    float d = decode_element(m, codes + r * m.row_bytes, c, scales[grid], zeros[grid]);
    if (decoded_out) {
      decoded_out[i] = d;
      continue;
    }
    float w = source_element(m.source, source, i);
    if (!isfinite(w)) {  // accumulate() of src/compare/compare.cpp: counted, left out
      if (isnan(w)) ++source_nan; else ++source_inf;
      continue;
    }
    if (!isfinite(d)) {
      if (isnan(d)) ++nan; else ++inf;
      continue;
    }
    ++measured;
    double diff = static_cast<double>(d) - static_cast<double>(w);
    diff2 += diff * diff;
    ref2 += static_cast<double>(w) * static_cast<double>(w);
    max_abs = fmax(max_abs, fabs(diff));
  }
  if (decoded_out) return;
  // Warp, then block, then one atomic per block.
  for (int off = 16; off > 0; off /= 2) {
    diff2 += __shfl_down_sync(0xffffffff, diff2, off);
    ref2 += __shfl_down_sync(0xffffffff, ref2, off);
    max_abs = fmax(max_abs, __shfl_down_sync(0xffffffff, max_abs, off));
    measured += __shfl_down_sync(0xffffffff, measured, off);
    nan += __shfl_down_sync(0xffffffff, nan, off);
    inf += __shfl_down_sync(0xffffffff, inf, off);
    source_nan += __shfl_down_sync(0xffffffff, source_nan, off);
    source_inf += __shfl_down_sync(0xffffffff, source_inf, off);
  }
  __shared__ double s_diff2[32], s_ref2[32], s_max[32];
  __shared__ unsigned long long s_measured[32], s_nan[32], s_inf[32], s_source_nan[32],
      s_source_inf[32];
  int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) {
    s_diff2[warp] = diff2, s_ref2[warp] = ref2, s_max[warp] = max_abs;
    s_measured[warp] = measured, s_nan[warp] = nan, s_inf[warp] = inf;
    s_source_nan[warp] = source_nan, s_source_inf[warp] = source_inf;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int k = 1; k < static_cast<int>(blockDim.x / 32); ++k) {
      diff2 += s_diff2[k], ref2 += s_ref2[k], max_abs = fmax(max_abs, s_max[k]);
      measured += s_measured[k], nan += s_nan[k], inf += s_inf[k];
      source_nan += s_source_nan[k], source_inf += s_source_inf[k];
    }
    atomicAdd(&sums->diff2, diff2);
    atomicAdd(&sums->ref2, ref2);
    atomicMax(&sums->max_abs_bits, static_cast<unsigned long long>(__double_as_longlong(max_abs)));
    atomicAdd(&sums->measured, measured);
    atomicAdd(&sums->nan, nan);
    atomicAdd(&sums->inf, inf);
    atomicAdd(&sums->source_nan, source_nan);
    atomicAdd(&sums->source_inf, source_inf);
  }
}

constexpr int kThreads = 256;

}  // namespace

bool device_available(std::string* description) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    if (description) *description = "no CUDA device";
    return false;
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) {
    if (description) *description = "cannot query the CUDA device";
    return false;
  }
  if (description) *description = prop.name;
  return true;
}

struct ModuleComparer::State {
  ModuleSpec spec;
  uint64_t chunk_rows = 0;
  char* host_codes[2] = {nullptr, nullptr};
  char* host_source[2] = {nullptr, nullptr};
  unsigned char* dev_codes[2] = {nullptr, nullptr};
  unsigned char* dev_source[2] = {nullptr, nullptr};
  float* dev_scales = nullptr;
  float* dev_zeros = nullptr;
  DeviceSums* dev_sums = nullptr;
  float* dev_decoded = nullptr;
  cudaStream_t stream[2] = {nullptr, nullptr};
  int blocks = 0;
};

ModuleComparer::ModuleComparer(const ModuleSpec& spec, const std::vector<float>& scales,
                               const std::vector<float>& zeros, uint64_t chunk_rows)
    : state_(std::make_unique<State>()) {
  upload_tables();
  State& s = *state_;
  s.spec = spec;
  s.chunk_rows = chunk_rows;
  const size_t code_bytes = chunk_rows * spec.row_bytes;
  const size_t source_bytes = chunk_rows * spec.cols * (spec.source == SourceType::kF32 ? 4 : 2);
  for (int k = 0; k < 2; ++k) {
    check(cudaMallocHost(&s.host_codes[k], code_bytes), "pinned code buffer");
    check(cudaMallocHost(&s.host_source[k], source_bytes), "pinned source buffer");
    check(cudaMalloc(&s.dev_codes[k], code_bytes), "device code buffer");
    check(cudaMalloc(&s.dev_source[k], source_bytes), "device source buffer");
    check(cudaStreamCreate(&s.stream[k]), "stream");
  }
  check(cudaMalloc(&s.dev_scales, scales.size() * sizeof(float)), "scales");
  check(cudaMemcpy(s.dev_scales, scales.data(), scales.size() * sizeof(float),
                   cudaMemcpyHostToDevice), "upload scales");
  check(cudaMalloc(&s.dev_zeros, zeros.size() * sizeof(float)), "zero points");
  check(cudaMemcpy(s.dev_zeros, zeros.data(), zeros.size() * sizeof(float),
                   cudaMemcpyHostToDevice), "upload zero points");
  check(cudaMalloc(&s.dev_sums, sizeof(DeviceSums)), "sums");
  check(cudaMemset(s.dev_sums, 0, sizeof(DeviceSums)), "clear sums");
  int sms = 0;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  s.blocks = sms > 0 ? sms * 8 : 1024;
}

ModuleComparer::~ModuleComparer() {
  State& s = *state_;
  for (int k = 0; k < 2; ++k) {
    if (s.stream[k]) cudaStreamSynchronize(s.stream[k]), cudaStreamDestroy(s.stream[k]);
    cudaFreeHost(s.host_codes[k]);
    cudaFreeHost(s.host_source[k]);
    cudaFree(s.dev_codes[k]);
    cudaFree(s.dev_source[k]);
  }
  cudaFree(s.dev_scales);
  cudaFree(s.dev_zeros);
  cudaFree(s.dev_sums);
  cudaFree(s.dev_decoded);
}

char* ModuleComparer::codes(int slot) { return state_->host_codes[slot]; }
char* ModuleComparer::source(int slot) { return state_->host_source[slot]; }

void ModuleComparer::wait(int slot) {
  check(cudaStreamSynchronize(state_->stream[slot]), "wait for a chunk");
}

void ModuleComparer::submit(int slot, uint64_t first_row, uint64_t rows) {
  State& s = *state_;
  const size_t code_bytes = rows * s.spec.row_bytes;
  const size_t source_bytes = rows * s.spec.cols * (s.spec.source == SourceType::kF32 ? 4 : 2);
  check(cudaMemcpyAsync(s.dev_codes[slot], s.host_codes[slot], code_bytes,
                        cudaMemcpyHostToDevice, s.stream[slot]), "copy codes");
  check(cudaMemcpyAsync(s.dev_source[slot], s.host_source[slot], source_bytes,
                        cudaMemcpyHostToDevice, s.stream[slot]), "copy source");
  reduce_chunk<<<s.blocks, kThreads, 0, s.stream[slot]>>>(s.spec, s.dev_codes[slot],
                                                           s.dev_source[slot], s.dev_scales,
                                                           s.dev_zeros, first_row, rows,
                                                           s.dev_sums, nullptr);
  check(cudaGetLastError(), "launch");
}

Sums ModuleComparer::finish() {
  State& s = *state_;
  wait(0);
  wait(1);
  DeviceSums d{};
  check(cudaMemcpy(&d, s.dev_sums, sizeof d, cudaMemcpyDeviceToHost), "read sums");
  Sums out;
  out.diff2 = d.diff2;
  out.ref2 = d.ref2;
  std::memcpy(&out.max_abs, &d.max_abs_bits, sizeof(double));
  out.measured = d.measured;
  out.nan = d.nan;
  out.inf = d.inf;
  out.source_nan = d.source_nan;
  out.source_inf = d.source_inf;
  return out;
}

void ModuleComparer::decode(uint64_t first_row, uint64_t rows, float* out) {
  State& s = *state_;
  const size_t n = rows * s.spec.cols;
  if (!s.dev_decoded) check(cudaMalloc(&s.dev_decoded, s.chunk_rows * s.spec.cols * sizeof(float)), "decoded buffer");
  check(cudaMemcpy(s.dev_codes[0], s.host_codes[0], rows * s.spec.row_bytes, cudaMemcpyHostToDevice),
        "copy codes");
  reduce_chunk<<<s.blocks, kThreads>>>(s.spec, s.dev_codes[0], nullptr, s.dev_scales, s.dev_zeros,
                                       first_row, rows, s.dev_sums, s.dev_decoded);
  check(cudaGetLastError(), "launch");
  check(cudaMemcpy(out, s.dev_decoded, n * sizeof(float), cudaMemcpyDeviceToHost), "read decoded");
}

}  // namespace ckd::cuda

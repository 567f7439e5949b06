// The CUDA decoder against the CPU reference: decoded values bit-identical, relative errors equal
// within 1e-6, for every module of every oracle fixture. Skipped where this build has no CUDA
// decoder or the machine no GPU (the device tool lends one to some sessions only).
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "compare/compare.h"
#include "compare/layout.h"
#include "rules/rule_set.h"

#include "compare/cuda_spec.h"

namespace {

const std::string kDir = std::string(CKD_SOURCE_DIR) + "/fixtures/compare/";
const bool kNoGpu = !ckd::cuda_usable(nullptr);

nlohmann::json expected_variants() {
  return nlohmann::json::parse(std::ifstream(kDir + "expected.json"));
}

}  // namespace

TEST_CASE("cuda: relative errors equal the CPU's within 1e-6" * doctest::skip(kNoGpu)) {
  static const ckd::RuleSet rules = ckd::RuleSet::builtin();
  const nlohmann::json variants = expected_variants();
  for (const auto& [variant, entry] : variants.items()) {
    CAPTURE(variant);
    ckd::CompareRequest r;
    r.quant_dir = kDir + variant;
    r.source_dir = kDir + entry["source"].get<std::string>();
    r.rule = rules.find("roundtrip-error");
    r.device = "cpu";
    ckd::CompareReport cpu = ckd::run_compare(r);
    r.device = "cuda";
    ckd::CompareReport gpu = ckd::run_compare(r);
    CHECK(gpu.device.starts_with("cuda"));
    REQUIRE(cpu.tensors.size() == gpu.tensors.size());
    for (size_t i = 0; i < cpu.tensors.size(); ++i) {
      CAPTURE(cpu.tensors[i].module);
      CHECK(cpu.tensors[i].module == gpu.tensors[i].module);
      CHECK(gpu.tensors[i].rel_error == doctest::Approx(cpu.tensors[i].rel_error).epsilon(1e-6));
      CHECK(gpu.tensors[i].max_abs_error == cpu.tensors[i].max_abs_error);  // a max: exact
      CHECK(gpu.tensors[i].nan == cpu.tensors[i].nan);
      CHECK(gpu.tensors[i].passed == cpu.tensors[i].passed);
    }
  }
}

TEST_CASE("cuda: decoded values are bit-identical to decode_rows" * doctest::skip(kNoGpu)) {
#ifdef CKD_WITH_CUDA
  const nlohmann::json variants = expected_variants();
  for (const auto& [variant, entry] : variants.items()) {
    CAPTURE(variant);
    auto ck = ckd::Checkpoint::open(kDir + variant);
    for (const ckd::Module& module : ck->modules().modules()) {
      if (!module.is_linear() || !module.group) continue;
      ckd::Layout layout = ckd::describe_module(module);
      if (!layout.matrix) continue;
      const ckd::QuantizedMatrix& m = *layout.matrix;
      CAPTURE(module.path);
      std::vector<float> scales =
          ckd::effective_scales(m, m.scales->shard->tensor_bytes(*m.scales->info));
      std::vector<float> zeros = ckd::zero_point_grid(
          m, m.zero_points ? m.zero_points->shard->tensor_bytes(*m.zero_points->info)
                           : std::string_view());
      std::string_view codes = m.codes->shard->tensor_bytes(*m.codes->info);
      std::vector<float> cpu(m.rows * m.cols), gpu(m.rows * m.cols);
      ckd::decode_rows(m, scales, zeros, codes, 0, m.rows, cpu.data());
      ckd::cuda::ModuleSpec spec = ckd::cuda_module_spec(m, ckd::Dtype::kBF16);
      ckd::cuda::ModuleComparer comparer(spec, scales, zeros, m.rows);
      std::memcpy(comparer.codes(0), codes.data(), codes.size());
      comparer.decode(0, m.rows, gpu.data());
      CHECK(std::memcmp(cpu.data(), gpu.data(), cpu.size() * sizeof(float)) == 0);
    }
  }
#endif
}

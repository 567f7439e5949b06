// Helpers shared by the tests: temporary directories and byte builders.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "compare/compare.h"
#include "fixture/bench_checkpoint.h"
#include "rules/engine.h"
#include "scan/scan.h"

namespace ckd_test {

// Scans `dir` with every built-in rule.
inline ckd::ScanReport scan_all_rules(const std::string& dir, bool deep = false) {
  static const ckd::RuleSet rules = ckd::RuleSet::builtin();
  ckd::ScanRequest request;
  request.dir = dir;
  request.rules = ckd::select_rules(rules, {}, {});
  request.options.deep = deep;
  return ckd::run_scan(request);
}

// A compare report's row for `module`, or nullptr.
inline const ckd::ModuleError* find_module(const ckd::CompareReport& r,
                                           const std::string& module) {
  for (const auto& e : r.tensors)
    if (e.module == module) return &e;
  return nullptr;
}

// The bench checkpoint (Qwen3.6-35B-A3B FP8 layout) at test size: 4 layers, 8 experts, 2 shards,
// the text model under `stem`.
inline void write_small_bench(const std::string& dir,
                              const std::string& stem = "model.language_model.") {
  ckd::fixture::BenchShape shape;
  shape.layers = 4;
  shape.experts = 8;
  shape.shards = 2;
  shape.stem = stem;
  ckd::fixture::write_bench_checkpoint(dir, shape);
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ckptdoctor-test-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    if (!made) throw std::runtime_error("mkdtemp failed");
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// 8-byte little-endian length prefix + header + data.
inline std::string safetensors_bytes(const std::string& header, const std::string& data,
                                     uint64_t length) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[static_cast<size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xff);
  return out + header + data;
}

inline std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return safetensors_bytes(header, data, header.size());
}

}  // namespace ckd_test

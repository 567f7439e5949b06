// ckptdoctor-fixture: developer tool. `build SPEC DIR` writes the checkpoint a fixture spec
// describes; `bench-moe DIR` writes the sparse full-size MoE checkpoint of bench/.
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "fixture/bench_checkpoint.h"
#include "fixture/fixture.h"

int main(int argc, char** argv) {
  try {
    if (argc == 4 && std::strcmp(argv[1], "build") == 0) {
      std::ifstream in(argv[2]);
      if (!in) throw std::runtime_error(std::string("cannot read ") + argv[2]);
      std::stringstream ss;
      ss << in.rdbuf();
      std::string spec_path = argv[2];
      std::string spec_dir = spec_path.substr(
          0, spec_path.find_last_of('/') == std::string::npos ? 0 : spec_path.find_last_of('/'));
      nlohmann::json spec = ckd::fixture::resolve_spec(nlohmann::json::parse(ss.str()),
                                                       spec_dir.empty() ? "." : spec_dir);
      ckd::fixture::build_checkpoint(spec, argv[3]);
      if (spec.contains("source")) {
        ckd::fixture::build_checkpoint(
            ckd::fixture::resolve_spec(spec["source"], spec_dir.empty() ? "." : spec_dir),
            std::string(argv[3]) + ".source");
      }
      return 0;
    }
    if (argc >= 3 && std::strcmp(argv[1], "bench-moe") == 0) {
      ckd::fixture::BenchShape shape;
      for (int i = 3; i < argc; ++i) {
        std::string flag = argv[i];
        if (flag == "--dense") {
          shape.dense = true;
          continue;
        }
        if (i + 1 >= argc) throw std::runtime_error(flag + " needs a value");
        if (flag == "--stem") {
          shape.stem = argv[++i];
          continue;
        }
        uint64_t v = std::stoull(argv[++i]);
        if (flag == "--layers")
          shape.layers = v;
        else if (flag == "--experts")
          shape.experts = v;
        else if (flag == "--shards")
          shape.shards = v;
        else
          throw std::runtime_error("unknown flag " + flag);
      }
      auto stats = ckd::fixture::write_bench_checkpoint(argv[2], shape);
      std::cout << stats.tensors << " tensors, " << stats.shards << " shards, "
                << stats.apparent_bytes << " apparent bytes\n";
      return 0;
    }
    std::cerr << "usage: ckptdoctor-fixture build SPEC.json DIR\n"
                 "       ckptdoctor-fixture bench-moe DIR [--layers N] [--experts N] [--shards N] "
                 "[--dense] [--stem PREFIX]\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ckptdoctor-fixture: " << e.what() << "\n";
    return 2;
  }
}

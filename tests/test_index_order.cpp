// index-tensor-mismatch walks each shard's sorted names alongside the index when the index
// lists them in order, and looks entries up one by one when it does not: the findings must not
// depend on the order of the weight_map.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fixture/fixture.h"
#include "scan/scan.h"
#include "test_util.h"

namespace {

void build_base(const std::string& dir) {
  std::string specs = std::string(CKD_SOURCE_DIR) + "/fixtures/specs";
  std::ifstream in(specs + "/base-fp8-block.json");
  ckd::fixture::build_checkpoint(ckd::fixture::resolve_spec(nlohmann::json::parse(in), specs), dir);
}

// Rewrites the index from the fixture's `original`: its weight_map sorted or reversed, with or
// without three defects.
void write_index(const std::string& dir, const nlohmann::json& original, bool reversed,
                 bool defects) {
  std::string path = dir + "/model.safetensors.index.json";
  nlohmann::json index = original;
  std::vector<std::pair<std::string, std::string>> entries;
  for (auto& [name, shard] : index["weight_map"].items())
    entries.emplace_back(name, shard.get<std::string>());
  std::sort(entries.begin(), entries.end());
  if (defects) {
    // One tensor left out, one sent to the wrong shard, one that no shard holds.
    entries.erase(entries.begin() + 3);
    std::string& shard = entries[5].second;
    shard = shard == "model-00001-of-00002.safetensors" ? "model-00002-of-00002.safetensors"
                                                        : "model-00001-of-00002.safetensors";
    entries.emplace_back("model.layers.0.not_stored.weight", entries[0].second);
    std::sort(entries.begin(), entries.end());
  }
  if (reversed) std::reverse(entries.begin(), entries.end());
  nlohmann::ordered_json out;
  out["metadata"] = index["metadata"];
  out["weight_map"] = nlohmann::ordered_json::object();
  for (auto& [name, shard] : entries) out["weight_map"][name] = shard;
  std::ofstream(path) << out.dump(2);
}

std::vector<std::string> mismatches(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& f : ckd_test::scan_all_rules(dir, false).findings)
    if (f.name == "index-tensor-mismatch") out.push_back(f.file + " " + f.tensor + " " + f.message);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("index-tensor-mismatch: the same findings for a sorted and a reversed weight_map") {
  ckd_test::TempDir tmp;
  std::string dir = tmp.path() + "/ck";
  build_base(dir);
  nlohmann::json original;
  {
    std::ifstream in(dir + "/model.safetensors.index.json");
    original = nlohmann::json::parse(in);
  }
  write_index(dir, original, false, false);
  CHECK(mismatches(dir).empty());  // control: healthy, sorted
  write_index(dir, original, true, false);
  CHECK(mismatches(dir).empty());  // control: healthy, reversed
  write_index(dir, original, false, true);
  std::vector<std::string> sorted = mismatches(dir);
  CHECK(sorted.size() == 3);
  write_index(dir, original, true, true);
  CHECK(mismatches(dir) == sorted);
}

// Checkpoint::open over real directory layouts: the Hugging Face hub cache (snapshots whose
// files are symlinks into blobs/), and symlinks that leave the checkpoint.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "fixture/fixture.h"
#include "rules/engine.h"
#include "scan/scan.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace {

ckd::ScanReport scan(const std::string& dir) {
  return ckd_test::scan_all_rules(dir, false);
}

size_t count(const ckd::ScanReport& r, const std::string& rule) {
  size_t n = 0;
  for (const auto& f : r.findings) n += f.name == rule;
  return n;
}

void build_base(const std::string& dir) {
  std::string specs = std::string(CKD_SOURCE_DIR) + "/fixtures/specs";
  std::ifstream in(specs + "/base-fp8-block.json");
  ckd::fixture::build_checkpoint(ckd::fixture::resolve_spec(nlohmann::json::parse(in), specs), dir);
}

}  // namespace

TEST_CASE("a hub cache snapshot: symlinks into blobs/ are followed") {
  ckd_test::TempDir tmp;
  std::string repo = tmp.path() + "/models--org--name";
  build_base(tmp.path() + "/built");
  fs::create_directories(repo + "/blobs");
  fs::create_directories(repo + "/snapshots/0123abcd");
  int blob = 0;
  for (const auto& entry : fs::directory_iterator(tmp.path() + "/built")) {
    std::string sha = "blob" + std::to_string(blob++);
    fs::rename(entry.path(), repo + "/blobs/" + sha);
    fs::create_symlink("../../blobs/" + sha,
                       repo + "/snapshots/0123abcd/" + entry.path().filename().string());
  }
  auto r = scan(repo + "/snapshots/0123abcd");
  CHECK(r.files == 2);
  CHECK(r.findings.empty());
  // The same symlinks from a directory that is not a cache snapshot leave the checkpoint.
  fs::create_directories(tmp.path() + "/elsewhere/x");
  for (const auto& entry : fs::directory_iterator(repo + "/snapshots/0123abcd")) {
    fs::create_symlink(fs::read_symlink(entry.path()),
                       tmp.path() + "/elsewhere/x/" + entry.path().filename().string());
  }
  // "../../blobs" from elsewhere/x is tmp/blobs: outside the directory, and not a hub snapshot.
  fs::copy(repo + "/blobs", tmp.path() + "/blobs");
  auto outside = scan(tmp.path() + "/elsewhere/x");
  CHECK(outside.files == 0);
  CHECK(count(outside, "unsafe-path") == 4);  // config.json, the index, both shards
}

TEST_CASE("symlinks out of a checkpoint without an index are findings, never opened") {
  ckd_test::TempDir tmp;
  std::string dir = tmp.path() + "/ck";
  fs::create_directories(dir);
  fs::create_symlink("/etc/hostname", dir + "/model.safetensors");
  fs::create_symlink("/etc/passwd", dir + "/config.json");
  auto r = scan(dir);
  CHECK(r.files == 0);
  CHECK(count(r, "unsafe-path") == 2);
  for (const auto& f : r.findings) CHECK(f.message.find("root:") == std::string::npos);
}

// hf://ORG/REPO read from the local huggingface_hub cache when the revision is there whole, and
// only from it under HF_HUB_OFFLINE.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "checkpoint/checkpoint.h"
#include "remote/hub_cache.h"
#include "remote/remote_store.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace {

constexpr const char* kCommit = "0123456789abcdef0123456789abcdef01234567";

// A cache holding org/repo at kCommit, its files moved into blobs/ and linked from the snapshot
// the way huggingface_hub lays them out; refs/main names the commit.
std::string make_cache(const std::string& root) {
  std::string repo = root + "/models--org--repo";
  std::string snapshot = repo + "/snapshots/" + kCommit;
  fs::create_directories(snapshot);
  ckd_test::write_small_bench(snapshot);
  fs::create_directories(repo + "/blobs");
  fs::create_directories(repo + "/refs");
  int n = 0;
  for (const auto& entry : fs::directory_iterator(snapshot)) {
    std::string blob = "blob" + std::to_string(n++);
    fs::rename(entry.path(), repo + "/blobs/" + blob);
    fs::create_symlink("../../blobs/" + blob, entry.path());
  }
  std::ofstream(repo + "/refs/main") << kCommit;  // no newline, as huggingface_hub writes it
  return snapshot;
}

struct EnvGuard {
  EnvGuard(const std::string& cache, bool offline) {
    ::setenv("HF_HUB_CACHE", cache.c_str(), 1);
    ::setenv("HF_ENDPOINT", "http://127.0.0.1:9", 1);  // nothing listens: a fetch fails at once
    if (offline)
      ::setenv("HF_HUB_OFFLINE", "1", 1);
    else
      ::unsetenv("HF_HUB_OFFLINE");
  }
  ~EnvGuard() {
    for (const char* name : {"HF_HUB_CACHE", "HF_ENDPOINT", "HF_HUB_OFFLINE"}) ::unsetenv(name);
  }
};

}  // namespace

TEST_CASE("hf:// names a cached revision: read from the snapshot, by branch or by commit") {
  ckd_test::TempDir tmp;
  std::string snapshot = make_cache(tmp.path());
  EnvGuard env(tmp.path(), false);
  for (std::string location : {std::string("hf://org/repo"), std::string("hf://org/repo@main"),
                               std::string("hf://org/repo@") + kCommit}) {
    CAPTURE(location);
    auto store = ckd::open_store(location, {});
    REQUIRE(store->is_local());
    CHECK(store->location() == snapshot);
  }
  // The scan of the cached revision is the scan of the directory.
  auto via_cache = ckd_test::scan_all_rules("hf://org/repo");
  auto direct = ckd_test::scan_all_rules(snapshot);
  CHECK(via_cache.findings.size() == direct.findings.size());
  CHECK(via_cache.tensors == direct.tensors);
  CHECK(via_cache.tensors > 0);
}

TEST_CASE("a revision the cache does not hold whole is fetched; offline, only the cache is read") {
  ckd_test::TempDir tmp;
  std::string snapshot = make_cache(tmp.path());
  // Only the configs and the first shard were downloaded.
  for (const auto& entry : fs::directory_iterator(snapshot))
    if (entry.path().filename().string().find("00002") != std::string::npos) fs::remove(entry);
  auto found = ckd::find_hub_cache_snapshot(tmp.path(), "org/repo", "main");
  REQUIRE(found);
  CHECK_FALSE(found->complete);
  CHECK(found->incomplete_reason.find("00002") != std::string::npos);
  {
    EnvGuard env(tmp.path(), false);
    std::unique_ptr<ckd::FileStore> store;
    try {
      store = ckd::open_store("hf://org/repo", {});
    } catch (const ckd::IoError&) {  // the fetch from 127.0.0.1:9 fails: it went to the network
    }
    CHECK((store == nullptr || !store->is_local()));
  }
  {
    EnvGuard env(tmp.path(), true);  // offline: the partial snapshot is what there is
    auto store = ckd::open_store("hf://org/repo", {});
    CHECK(store->is_local());
    CHECK_THROWS_WITH_AS(ckd::open_store("hf://org/other", {}),
                         doctest::Contains("does not hold this revision"), ckd::IoError);
    CHECK_THROWS_WITH_AS(ckd::open_store("https://host.example/org/x/resolve/main/", {}),
                         doctest::Contains("HF_HUB_OFFLINE"), ckd::IoError);
  }
}

TEST_CASE("the cache's names are untrusted: refs outside refs/, bad ref contents, no snapshot") {
  ckd_test::TempDir tmp;
  make_cache(tmp.path());
  std::string repo = tmp.path() + "/models--org--repo";
  CHECK(ckd::find_hub_cache_snapshot(tmp.path(), "org/repo", "main"));
  for (const char* revision : {"../refs/main", "..", "a//b", "/etc/passwd", "x\\y", ""})
    CHECK_FALSE(ckd::find_hub_cache_snapshot(tmp.path(), "org/repo", revision));
  std::ofstream(repo + "/refs/bad") << "../../../../etc";
  CHECK_FALSE(ckd::find_hub_cache_snapshot(tmp.path(), "org/repo", "bad"));
  std::ofstream(repo + "/refs/gone") << "fedcba9876543210fedcba9876543210fedcba98";
  CHECK_FALSE(ckd::find_hub_cache_snapshot(tmp.path(), "org/repo", "gone"));
  fs::create_directories(repo + "/refs/pr");
  std::ofstream(repo + "/refs/pr/1") << kCommit << "\n";
  CHECK(ckd::find_hub_cache_snapshot(tmp.path(), "org/repo", "refs/pr/1") == std::nullopt);
  auto pr = ckd::find_hub_cache_snapshot(tmp.path(), "org/repo", "pr/1");
  REQUIRE(pr);
  CHECK(pr->commit == kCommit);
  CHECK_FALSE(ckd::find_hub_cache_snapshot(tmp.path(), "org/missing", "main"));
}

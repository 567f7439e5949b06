// Remote locations: what hf:// and https:// names turn into, and where the token comes from.
// The transfers themselves are tested against nginx in tests/remote_test.sh; here, what a remote
// store keeps per file.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "checkpoint/checkpoint.h"
#include "remote/http_client.h"
#include "remote/remote_store.h"
#include "test_util.h"

using ckd::parse_remote_location;

TEST_CASE("hf:// locations map onto the Hub's resolve and tree URLs") {
  auto loc = parse_remote_location("hf://org/repo", "https://huggingface.co");
  CHECK(loc.base_url == "https://huggingface.co/org/repo/resolve/main/");
  CHECK(loc.tree_url == "https://huggingface.co/api/models/org/repo/tree/main");
  CHECK(loc.hub);

  // A revision with slashes is one encoded path segment; HF_ENDPOINT's trailing slash is dropped.
  loc = parse_remote_location("hf://org/repo@refs/pr/12", "http://127.0.0.1:8080/");
  CHECK(loc.base_url == "http://127.0.0.1:8080/org/repo/resolve/refs%2Fpr%2F12/");
  CHECK(loc.tree_url == "http://127.0.0.1:8080/api/models/org/repo/tree/refs%2Fpr%2F12");

  loc = parse_remote_location("hf://gpt2@e7da7f2", "https://huggingface.co");  // no organisation
  CHECK(loc.base_url == "https://huggingface.co/gpt2/resolve/e7da7f2/");

  for (const char* bad :
       {"hf://", "hf://a/b/c", "hf://org/../x", "hf://org/re po", "hf://org/r@", "hf://org/r@a b",
        "ftp://host/x", "https://h/x?y=1", "https://h/org/r/resolve/main/model.safetensors"}) {
    CAPTURE(bad);
    CHECK_THROWS(parse_remote_location(bad, "https://huggingface.co"));
  }
}

TEST_CASE("https:// directories: the listing API only for the Hub's resolve layout") {
  auto loc = parse_remote_location("https://hf.example/org/repo/resolve/abc123", "");
  CHECK(loc.base_url == "https://hf.example/org/repo/resolve/abc123/");
  CHECK(loc.tree_url == "https://hf.example/api/models/org/repo/tree/abc123");
  CHECK_FALSE(loc.hub);  // a missing listing is not an error: the index names the shards
  loc = parse_remote_location("https://files.example/models/llama/", "");
  CHECK(loc.base_url == "https://files.example/models/llama/");
  CHECK(loc.tree_url.empty());
}

TEST_CASE("URL helpers") {
  CHECK(ckd::percent_encode("model-00001-of-00002.safetensors", true) ==
        "model-00001-of-00002.safetensors");
  CHECK(ckd::percent_encode("sub dir/a#b?.json", true) == "sub%20dir/a%23b%3F.json");
  CHECK(ckd::percent_encode("refs/pr/1", false) == "refs%2Fpr%2F1");
  CHECK(ckd::percent_encode("\xC3\xA9", false) == "%C3%A9");
  CHECK(ckd::url_authority("https://HuggingFace.co/org/x") == "huggingface.co:443");
  CHECK(ckd::url_authority("http://127.0.0.1:8080/x") == "127.0.0.1:8080");
  CHECK(ckd::url_authority("not a url").empty());
}

TEST_CASE("the token: HF_TOKEN, else the file huggingface_hub writes") {
  namespace fs = std::filesystem;
  fs::path home = fs::temp_directory_path() / "ckd-remote-env-test";
  fs::create_directories(home);
  { std::ofstream(home / "token") << "  hf_fromfile \n"; }
  ::setenv("HF_HOME", home.c_str(), 1);
  ::unsetenv("HF_TOKEN");
  ::unsetenv("HUGGING_FACE_HUB_TOKEN");
  ::unsetenv("HF_TOKEN_PATH");
  ::setenv("HF_ENDPOINT", "http://mirror.example/", 1);
  ::setenv("HF_HUB_OFFLINE", "true", 1);
  ckd::RemoteEnvironment env = ckd::remote_environment();
  CHECK(env.token == "hf_fromfile");
  CHECK(env.endpoint == "http://mirror.example");
  CHECK(env.offline);
  ::setenv("HF_TOKEN", "hf_fromenv", 1);
  ::setenv("HF_HUB_OFFLINE", "0", 1);
  env = ckd::remote_environment();
  CHECK(env.token == "hf_fromenv");
  CHECK_FALSE(env.offline);
  for (const char* name : {"HF_HOME", "HF_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE"})
    ::unsetenv(name);
  fs::remove_all(home);
}

TEST_CASE("the CA bundle: the environment, libcurl's own when present, else the distribution's") {
  static std::vector<std::string> present;
  auto readable = [](const char* path) {
    return std::find(present.begin(), present.end(), path) != present.end();
  };
  const char* debian = "/etc/ssl/certs/ca-certificates.crt";
  const char* fedora = "/etc/pki/tls/certs/ca-bundle.crt";
  present = {debian};
  CHECK(ckd::choose_ca_bundle(nullptr, nullptr, debian, readable) == "");  // libcurl's default
  CHECK(ckd::choose_ca_bundle("/my/ca.pem", "/other.pem", debian, readable) == "/my/ca.pem");
  CHECK(ckd::choose_ca_bundle("", "/other.pem", debian, readable) == "/other.pem");
  present = {fedora, "/etc/ssl/cert.pem"};  // a Debian-built libcurl on Fedora
  CHECK(ckd::choose_ca_bundle(nullptr, nullptr, debian, readable) == fedora);
  present = {"/etc/ssl/cert.pem"};  // ... on Alpine
  CHECK(ckd::choose_ca_bundle(nullptr, nullptr, debian, readable) == "/etc/ssl/cert.pem");
  present = {};
  CHECK(ckd::choose_ca_bundle(nullptr, nullptr, debian, readable) == "");
}

TEST_CASE("the default deadline: a minute plus a second per 256 KiB requested") {
  CHECK(ckd::default_deadline_s(0) == doctest::Approx(60));
  CHECK(ckd::default_deadline_s(256 << 10) == doctest::Approx(61));
  CHECK(ckd::default_deadline_s(64ull << 20) == doctest::Approx(60 + 256));
}

namespace {

// A remote-like store of in-memory files whose sources count release_views().
class CountingStore final : public ckd::FileStore {
 public:
  class Source final : public ckd::ByteSource {
   public:
    Source(std::string name, std::string bytes, int& released)
        : inner_(name, std::move(bytes)), name_(std::move(name)), released_(released) {}
    uint64_t size() const override { return inner_.size(); }
    std::string_view read(uint64_t offset, uint64_t length) override {
      return inner_.read(offset, length);
    }
    const std::string& name() const override { return name_; }
    void release_views() override { ++released_; }

   private:
    ckd::MemorySource inner_;
    std::string name_;
    int& released_;
  };

  std::map<std::string, std::string> files;
  std::map<std::string, int> released;

  const std::string& location() const override { return location_; }
  bool is_local() const override { return false; }
  std::optional<std::vector<ckd::StoredFile>> list_safetensors() override {
    std::vector<ckd::StoredFile> out;
    for (const auto& [name, bytes] : files) {
      if (name.ends_with(".safetensors")) out.push_back({name, true});
    }
    return out;
  }
  ckd::ResolvedPath resolve(std::string_view name) override {
    bool known = files.count(std::string(name)) > 0;
    return {known ? ckd::PathStatus::kOk : ckd::PathStatus::kMissing, std::string(name), ""};
  }
  std::unique_ptr<ckd::ByteSource> open(const ckd::ResolvedPath& r) override {
    return std::make_unique<Source>(r.path, files.at(r.path), released[r.path]);
  }
  std::string read_small(const ckd::ResolvedPath& r, uint64_t) override { return files.at(r.path); }
  int open_parallelism(int threads) const override { return threads; }
  uint64_t max_header_bytes() const override { return 1 << 20; }

 private:
  std::string location_ = "memory://";
};

}  // namespace

TEST_CASE("a shard's fetched bytes are released once its header is parsed") {
  auto store = std::make_unique<CountingStore>();
  CountingStore& counting = *store;
  for (const char* name : {"a.safetensors", "b.safetensors"}) {
    std::string header = R"({"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})";
    header.append((8 - header.size() % 8) % 8, ' ');
    store->files[name] = ckd_test::safetensors_bytes(header, std::string(4, '\0'));
  }
  ckd::OpenOptions one_thread;
  one_thread.threads = 1;
  auto ck = ckd::Checkpoint::open(std::move(store), one_thread);
  REQUIRE(ck->shards().size() == 2);
  CHECK(counting.released["a.safetensors"] == 1);
  CHECK(counting.released["b.safetensors"] == 1);
  // The tensor table outlives the bytes it was parsed from.
  CHECK(ck->shards()[0]->tensors().at(0).name == "w");
}

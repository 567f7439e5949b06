// ckptdoctor fix and scan against hostile directories: a fix journal that came with the files,
// a re-run after a kill past the commit point, two runs at once, a hub cache whose blobs/ is a
// link out, and real hub cache snapshots (files that are links into blobs/). The CLI runs in a
// child process where a kill or a second process is part of the test.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include <doctest/doctest.h>

#include "fix/fix_command.h"
#include "fixture/fixture.h"
#include "test_util.h"

namespace fs = std::filesystem;
using ckd_test::scan_all_rules;
using ckd_test::TempDir;

namespace {

const std::string kSpecs = std::string(CKD_SOURCE_DIR) + "/fixtures/specs";

void build_spec(const nlohmann::json& spec, const std::string& dir) {
  ckd::fixture::build_checkpoint(ckd::fixture::resolve_spec(spec, kSpecs), dir);
}

// base-fp8-block (two shards, an index) with every key under `prefix` instead of "model.".
void build_prefixed(const std::string& prefix, const std::string& dir) {
  nlohmann::json spec = {{"base", "base-fp8-block"},
                         {"rename", nlohmann::json::array({{"^model\\.", prefix}})}};
  build_spec(spec, dir);
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// Every regular file under `dir` (relative path -> bytes), links followed, ckptdoctor's own
// names skipped.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    std::string rel = fs::path(e.path()).lexically_relative(dir).string();
    if (rel.starts_with(".ckptdoctor-")) continue;
    if (e.is_regular_file()) out[rel] = file_bytes(e.path().string());
  }
  return out;
}

size_t count_rule(const ckd::ScanReport& r, const std::string& rule) {
  return static_cast<size_t>(std::count_if(r.findings.begin(), r.findings.end(),
                                           [&](const ckd::Finding& f) { return f.name == rule; }));
}

std::string message_of(const ckd::ScanReport& r, const std::string& rule) {
  for (const ckd::Finding& f : r.findings)
    if (f.name == rule) return f.message;
  return "";
}

struct CliResult {
  int code;
  std::string output;  // stdout and stderr
};

// Runs the CLI; code is the exit status, or 128 + signal when it was killed.
CliResult run_cli(const std::string& args, const std::string& env = "") {
  TempDir log_dir;
  std::string log = log_dir.path() + "/log";
  std::string cmd = env + " " + std::string(CKD_BINARY) + " " + args + " >" + log + " 2>&1";
  int status = std::system(cmd.c_str());
  int code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
  return {code, file_bytes(log)};
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Moves every file of `built` into a hub cache repo (blobs/ + snapshots/REV/ of links, as
// huggingface_hub lays it out: relative links "../../blobs/<hash>"); returns the snapshot.
std::string make_hub_cache(const std::string& built, const std::string& repo) {
  fs::create_directories(repo + "/blobs");
  std::string snapshot_dir = repo + "/snapshots/0123abcd";
  fs::create_directories(snapshot_dir);
  int blob = 0;
  for (const auto& entry : fs::directory_iterator(built)) {
    std::string hash = "blob" + std::to_string(blob++);
    fs::rename(entry.path(), repo + "/blobs/" + hash);
    fs::create_symlink("../../blobs/" + hash,
                       snapshot_dir + "/" + entry.path().filename().string());
  }
  return snapshot_dir;
}

}  // namespace

TEST_CASE("a fix journal that came with the files is reported and never replayed") {
  TempDir tmp;
  std::string parent = tmp.path() + "/parent";
  std::string dir = parent + "/ck";
  fs::create_directories(parent);
  build_prefixed("model.language_model.", dir);
  write_file(parent + "/.bashrc", "mine");
  // `up` leads out of the checkpoint; the shipped journal names a file through it.
  fs::create_directory_symlink("..", dir + "/up");
  std::string staging = dir + "/.ckptdoctor-staging";
  write_file(staging + "/up/.bashrc", "evil");
  const std::string fix = "fix " + dir + " --strip-prefix language_model. --in-place";

  auto refused = [&](const std::string& reason) {
    auto before = snapshot(dir);
    CliResult r = run_cli(fix);
    CHECK(r.code == 2);
    CHECK(contains(r.output, "never replayed"));
    CHECK(file_bytes(parent + "/.bashrc") == "mine");
    CHECK(snapshot(dir) == before);
    CHECK(fs::exists(staging + "/up/.bashrc"));
    // The scan says why; an out-of-place fix refuses too.
    auto report = scan_all_rules(dir);
    CHECK(count_rule(report, "interrupted-fix") == 1);
    CHECK(contains(message_of(report, "interrupted-fix"), reason));
    CHECK(run_cli("fix " + dir + " --strip-prefix language_model. -o " + tmp.path() + "/out").code ==
          2);
    CHECK_FALSE(fs::exists(tmp.path() + "/out"));
  };

  SUBCASE("the journal of an older format, naming a path through a link") {
    write_file(staging + "/COMMIT",
               "# ckptdoctor fix --in-place: files to rename into place, index last\nup/.bashrc\n");
    refused("not a journal this version writes");
  }
  SUBCASE("a journal whose staged file is not the one it recorded") {
    write_file(staging + "/model-00001-of-00002.safetensors", "evil");
    write_file(staging + "/COMMIT",
               "# ckptdoctor fix --in-place journal v2\n2 3 4 4 model-00001-of-00002.safetensors\n");
    refused("not the file the journal recorded");
  }
  SUBCASE("a journal that names its staged file exactly, through a link") {
    // As if the identity were guessed: the path must still stay inside DIR without a link.
    struct stat st {};
    REQUIRE(::lstat((staging + "/up/.bashrc").c_str(), &st) == 0);
    write_file(staging + "/COMMIT",
               "# ckptdoctor fix --in-place journal v2\n" + std::to_string(st.st_ino) + " " +
                   std::to_string(st.st_ctim.tv_sec) + " " +
                   std::to_string(st.st_ctim.tv_nsec) + " 4 up/.bashrc\n");
    refused("passes through a symbolic link");
  }
  SUBCASE("a journal naming an absolute path or a '..' component") {
    write_file(staging + "/COMMIT",
               "# ckptdoctor fix --in-place journal v2\n2 3 4 4 ../.bashrc\n");
    refused("'..' component");
  }
}

TEST_CASE("a genuine interrupted fix is finished; a copy of it is refused") {
  TempDir tmp;
  std::string dir = tmp.path() + "/ck";
  build_prefixed("model.language_model.language_model.", dir);
  const std::string args = " --strip-prefix language_model. --in-place";
  CHECK(run_cli("fix " + dir + args, "CKPTDOCTOR_CRASH_AT=committed:1").code == 128 + SIGKILL);
  auto report = scan_all_rules(dir);
  CHECK(count_rule(report, "interrupted-fix") == 1);
  CHECK(contains(message_of(report, "interrupted-fix"), "interrupted after its commit point"));
  // A copy has new inodes and change times: its journal is not this directory's.
  std::string copy = tmp.path() + "/copy";
  fs::copy(dir, copy, fs::copy_options::recursive);
  CHECK(contains(message_of(scan_all_rules(copy), "interrupted-fix"), "did not write"));
  CHECK(run_cli("fix " + copy + args).code == 2);
  // The original is finished.
  CliResult r = run_cli("fix " + dir + args);
  CHECK(r.code == 0);
  CHECK(contains(r.output, "finished the interrupted --in-place fix"));
  CHECK_FALSE(fs::exists(dir + "/.ckptdoctor-staging"));
}

TEST_CASE("a re-run after a kill past the commit point finishes the fix and stops") {
  TempDir tmp;
  std::string fresh = tmp.path() + "/fresh";
  // Stripping "language_model." once gives model.language_model.*, twice model.*.
  build_prefixed("model.language_model.language_model.", fresh);
  const std::string args = " --strip-prefix language_model.";
  std::string expected_dir = tmp.path() + "/expected";
  REQUIRE(run_cli("fix " + fresh + args + " -o " + expected_dir).code == 0);
  const auto expected = snapshot(expected_dir);
  REQUIRE(contains(expected.at("model.safetensors.index.json"), "model.language_model.layers."));

  for (std::string point : {"committed:1", "published:1", "published:2", "staged:1"}) {
    CAPTURE(point);
    std::string dir = tmp.path() + "/ip-" + std::string(point).replace(point.find(':'), 1, "-");
    fs::copy(fresh, dir, fs::copy_options::recursive);
    CHECK(run_cli("fix " + dir + args + " --in-place", "CKPTDOCTOR_CRASH_AT=" + point).code ==
          128 + SIGKILL);
    CliResult r = run_cli("fix " + dir + args + " --in-place");
    CHECK(r.code == 0);
    // Past the commit point the re-run finishes and says so; before it (control) the staging is
    // discarded and the fix runs once.
    CHECK(contains(r.output, "finished the interrupted") == !point.starts_with("staged"));
    CHECK(snapshot(dir) == expected);
    CHECK_FALSE(fs::exists(dir + "/.ckptdoctor-staging"));
  }
}

TEST_CASE("fix --in-place holds an exclusive lock on DIR; a second run exits 2") {
  TempDir tmp;
  std::string dir = tmp.path() + "/ck";
  build_prefixed("model.language_model.", dir);
  const std::string fix = "fix " + dir + " --strip-prefix language_model. --in-place";
  const std::string lock = dir + "/.ckptdoctor-lock";
  const auto before = snapshot(dir);
  const size_t findings_before = scan_all_rules(dir).findings.size();

  SUBCASE("held by another run") {
    int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
    CliResult r = run_cli(fix);
    CHECK(r.code == 2);
    CHECK(contains(r.output, "another `ckptdoctor fix --in-place` is running"));
    CHECK(snapshot(dir) == before);
    ::close(fd);
    // Control: released and left behind (as by a killed run), the file is no finding, and the
    // fix runs and removes it.
    CHECK(scan_all_rules(dir).findings.size() == findings_before);
    CHECK(run_cli(fix).code == 0);
    CHECK(snapshot(dir) != before);
    CHECK_FALSE(fs::exists(fs::symlink_status(lock)));
  }
  SUBCASE("a symlink planted under the lock's name is never followed") {
    fs::create_symlink("../victim", lock);
    CliResult r = run_cli(fix);
    CHECK(r.code == 2);
    CHECK(contains(r.output, "symbolic link"));
    CHECK_FALSE(fs::exists(tmp.path() + "/victim"));
    CHECK(snapshot(dir) == before);
  }
  SUBCASE("two runs at once: one fixes, the other waits its turn or is refused") {
    // Whatever the interleaving, the result is the fix applied once or twice in sequence, never
    // a mix: every shard agrees with the index.
    std::string cmd = std::string(CKD_BINARY) + " " + fix + " >/dev/null 2>&1";
    std::string both = "(" + cmd + " & " + cmd + " & wait)";
    CHECK(std::system(both.c_str()) == 0);
    CHECK_FALSE(fs::exists(dir + "/.ckptdoctor-staging"));
    auto report = scan_all_rules(dir);
    CHECK(count_rule(report, "index-tensor-mismatch") == 0);
    CHECK(count_rule(report, "interrupted-fix") == 0);
  }
}

TEST_CASE("a hub cache whose blobs/ is a link out is not followed") {
  TempDir tmp;
  std::string repo = tmp.path() + "/models--org--name";
  build_spec({{"base", "base-fp8-block"}}, tmp.path() + "/built");
  // Outside the cache: a file that is not JSON (its bytes would show in a finding) and a shard.
  std::string outside = tmp.path() + "/outside";
  write_file(outside + "/secret", "SECRET-MARKER root:x:0:0");
  fs::copy_file(tmp.path() + "/built/model-00001-of-00002.safetensors", outside + "/shard");
  fs::create_directories(repo + "/snapshots/rev");
  fs::create_directory_symlink(outside, repo + "/blobs");
  fs::create_symlink("../../blobs/secret", repo + "/snapshots/rev/config.json");
  fs::create_symlink("../../blobs/shard", repo + "/snapshots/rev/model.safetensors");
  auto r = scan_all_rules(repo + "/snapshots/rev");
  CHECK(r.files == 0);
  CHECK(count_rule(r, "unsafe-path") == 2);
  for (const auto& f : r.findings) CHECK_FALSE(contains(f.message, "SECRET-MARKER"));

  // Control: the same files in a real blobs/ directory are read.
  fs::remove(repo + "/blobs");
  fs::create_directories(repo + "/blobs");
  fs::copy_file(outside + "/shard", repo + "/blobs/shard");
  fs::copy_file(tmp.path() + "/built/config.json", repo + "/blobs/secret");
  auto ok = scan_all_rules(repo + "/snapshots/rev");
  CHECK(ok.files == 1);
  CHECK(count_rule(ok, "unsafe-path") == 0);
  // A link from blobs/ onwards out of the cache is refused like any other.
  fs::remove(repo + "/blobs/shard");
  fs::create_symlink(outside + "/shard", repo + "/blobs/shard");
  CHECK(count_rule(scan_all_rules(repo + "/snapshots/rev"), "unsafe-path") == 1);
}

TEST_CASE("fix works on a hub cache snapshot: -o copies, --in-place replaces the links") {
  TempDir tmp;
  build_prefixed("model.language_model.language_model.", tmp.path() + "/built");
  std::string expected_dir = tmp.path() + "/expected";
  REQUIRE(run_cli("fix " + tmp.path() + "/built --strip-prefix language_model. -o " + expected_dir)
              .code == 0);
  const auto expected = snapshot(expected_dir);
  std::string repo = tmp.path() + "/models--org--name";
  std::string snap = make_hub_cache(tmp.path() + "/built", repo);
  const auto blobs = snapshot(repo + "/blobs");
  const std::string args = " --strip-prefix language_model.";

  SUBCASE("-o writes regular files") {
    std::string out = tmp.path() + "/out";
    CliResult r = run_cli("fix " + snap + args + " -o " + out);
    CHECK(r.code == 0);
    REQUIRE_MESSAGE(fs::is_directory(out), r.output);
    CHECK(snapshot(out) == expected);
    for (const auto& e : fs::directory_iterator(out)) CHECK_FALSE(e.is_symlink());
  }
  SUBCASE("--in-place replaces the changed files' links") {
    CliResult r = run_cli("fix " + snap + args + " --in-place");
    CHECK_MESSAGE(r.code == 0, r.output);
    CHECK(snapshot(snap) == expected);
    CHECK(snapshot(repo + "/blobs") == blobs);  // nothing written through a link
    // The rewritten files replaced their links; the unchanged one is still a link into blobs/.
    CHECK_FALSE(fs::is_symlink(snap + "/model-00001-of-00002.safetensors"));
    CHECK_FALSE(fs::is_symlink(snap + "/model.safetensors.index.json"));
    CHECK(fs::is_symlink(snap + "/generation_config.json"));
    CHECK(scan_all_rules(snap).errors == 0);
  }
}

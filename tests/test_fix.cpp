// ckptdoctor fix: per fix, the exact output (names, bytes, index, metadata), the input unchanged,
// a re-scan clean of the rule it repairs, and the refusals (collisions, unfixable inputs, bad
// output directories). Crash safety (kill -9 at each stage) runs the binary in a child process.
#include <sys/wait.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <doctest/doctest.h>

#include "fix/fix_command.h"
#include "fixture/fixture.h"
#include "io/paths.h"
#include "test_util.h"

namespace fs = std::filesystem;
using ckd_test::scan_all_rules;
using ckd_test::TempDir;

namespace {

const std::string kSpecs = std::string(CKD_SOURCE_DIR) + "/fixtures/specs";

void build_spec(const nlohmann::json& spec, const std::string& dir) {
  nlohmann::json resolved = ckd::fixture::resolve_spec(spec, kSpecs);
  ckd::fixture::build_checkpoint(resolved, dir);
}

void build_named(const std::string& name, const std::string& dir) {
  std::ifstream in(kSpecs + "/" + name + ".json");
  REQUIRE(in);
  build_spec(nlohmann::json::parse(in), dir);
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every file under `dir` (relative path -> bytes): the fixtures are small.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file())
      out[fs::relative(e.path(), dir).string()] = file_bytes(e.path().string());
  }
  return out;
}

// Tensor name -> raw bytes of a whole checkpoint, read with the shard parser.
std::map<std::string, std::string> tensors_of(const std::string& dir) {
  auto ck = ckd::Checkpoint::open(dir);
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < ck->tensor_names().size(); ++i) {
    const ckd::TensorRef* ref = ck->tensor_refs()[i];
    out[std::string(ck->tensor_names()[i])] = std::string(ref->shard->tensor_bytes(*ref->info));
  }
  return out;
}

size_t count_rule(const ckd::ScanReport& r, const std::string& rule) {
  return static_cast<size_t>(std::count_if(r.findings.begin(), r.findings.end(),
                                           [&](const ckd::Finding& f) { return f.name == rule; }));
}

ckd::FixOutcome fix_to(const std::string& dir, const std::string& out, ckd::FixOptions options,
                       const std::string& source = "") {
  ckd::FixRequest r;
  r.dir = dir;
  r.out_dir = out;
  r.source_dir = source;
  r.options = std::move(options);
  return ckd::run_fix(r);
}

// Whether a --dry-run of `options` on `dir` would change anything (writes nothing).
bool would_change(const std::string& dir, ckd::FixOptions options) {
  ckd::FixRequest r;
  r.dir = dir;
  r.options = std::move(options);
  r.dry_run = true;
  return ckd::run_fix(r).plan.changes_anything();
}

std::string strip_once(const std::string& s, const std::string& p) {
  size_t at = s.find(p);
  return at == std::string::npos ? s : s.substr(0, at) + s.substr(at + p.size());
}

// Runs the CLI; returns its exit status, or 128 + signal when it was killed.
int run_cli(const std::string& args, const std::string& env = "") {
  std::string cmd = env + " " + std::string(CKD_BINARY) + " " + args + " >/dev/null 2>&1";
  int status = std::system(cmd.c_str());
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  int code = WEXITSTATUS(status);
  return code;
}

// base-fp8-block (two shards, an index, literal and re: ignore entries) with every key under
// three language_model. levels.
const nlohmann::json kTwoShardPrefixed = nlohmann::json::parse(R"({
  "base": "base-fp8-block",
  "rename": [["^model\\.", "model.language_model.language_model.language_model."]],
  "config": {"quantization_config": {"modules_to_not_convert": [
    "lm_head",
    "model.language_model.language_model.language_model.layers.0.mlp.gate",
    "re:model\\.language_model\\.language_model\\.language_model\\.layers\\.1\\.mlp\\.gate"
  ]}}
})");

}  // namespace

TEST_CASE(
    "strip-prefix: exact names, identical bytes, index, config ignore list, input unchanged") {
  TempDir tmp;
  std::string in = tmp.path() + "/in", out = tmp.path() + "/out";
  build_spec(kTwoShardPrefixed, in);
  auto before = snapshot(in);
  auto source_tensors = tensors_of(in);
  REQUIRE(count_rule(scan_all_rules(in), "repeated-prefix") == 1);

  ckd::FixOptions o;
  o.strip_prefixes = {"language_model.language_model."};
  ckd::FixOutcome outcome = fix_to(in, out, o);
  CHECK(outcome.written);
  CHECK(snapshot(in) == before);

  // Names: the prefix removed once; bytes: identical.
  auto written = tensors_of(out);
  REQUIRE(written.size() == source_tensors.size());
  for (const auto& [name, bytes] : source_tensors) {
    std::string expected = strip_once(name, "language_model.language_model.");
    REQUIRE(written.count(expected));
    CHECK(written[expected] == bytes);
  }
  CHECK(written.count("model.language_model.layers.0.self_attn.q_proj.weight"));
  CHECK(written.count("lm_head.weight"));

  // Index: sorted weight_map of every tensor to its shard, total_size the sum of byte sizes.
  auto index = nlohmann::json::parse(file_bytes(out + "/model.safetensors.index.json"));
  uint64_t total = 0;
  for (const auto& [name, bytes] : written) total += bytes.size();
  CHECK(index["metadata"]["total_size"] == total);
  CHECK(index["weight_map"].size() == written.size());
  CHECK(index["weight_map"]["model.language_model.embed_tokens.weight"] ==
        "model-00001-of-00002.safetensors");
  CHECK(index["weight_map"]["lm_head.weight"] == "model-00002-of-00002.safetensors");

  // Headers: clean, with __metadata__ {"format": "pt"}, space-padded to 8.
  auto ck = ckd::Checkpoint::open(out);
  for (const auto& shard : ck->shards()) {
    CHECK(shard->issues().empty());
    CHECK(shard->header_length() % 8 == 0);
    REQUIRE(shard->metadata());
    CHECK(shard->metadata()->at("format") == "pt");
  }
  // The ignore list follows the rename, literal and re: entries alike; other files are copies.
  auto config = nlohmann::json::parse(file_bytes(out + "/config.json"));
  auto ignore = config["quantization_config"]["modules_to_not_convert"];
  CHECK(ignore[1] == "model.language_model.layers.0.mlp.gate");
  CHECK(ignore[2] == "re:model\\.language_model\\.layers\\.1\\.mlp\\.gate");
  CHECK(file_bytes(out + "/generation_config.json") == before["generation_config.json"]);

  auto rescan = scan_all_rules(out);
  CHECK(count_rule(rescan, "repeated-prefix") == 0);
  CHECK(rescan.errors == 0);
}

TEST_CASE("strip-prefix auto: from the repeated segments, or from --source") {
  TempDir tmp;
  build_named("repeated-prefix", tmp.path() + "/in");
  ckd::FixOptions o;
  o.strip_prefixes = {"auto"};
  fix_to(tmp.path() + "/in", tmp.path() + "/out", o);
  auto names = tensors_of(tmp.path() + "/out");
  CHECK(names.count("model.language_model.embed_tokens.weight"));
  CHECK(count_rule(scan_all_rules(tmp.path() + "/out"), "repeated-prefix") == 0);

  // key-prefix-mismatch: language_model.model.* where the source has model.language_model.*.
  std::ifstream in(kSpecs + "/key-prefix-mismatch.json");
  nlohmann::json spec = nlohmann::json::parse(in);
  build_spec(spec, tmp.path() + "/q");
  build_spec(spec["source"], tmp.path() + "/src");
  fix_to(tmp.path() + "/q", tmp.path() + "/q-out", o, tmp.path() + "/src");
  auto fixed = tensors_of(tmp.path() + "/q-out");
  auto source = tensors_of(tmp.path() + "/src");
  for (const auto& [name, bytes] : source) CHECK(fixed.count(name));

  // Control: auto on a checkpoint with nothing to strip changes nothing.
  build_named("base-bf16", tmp.path() + "/clean");
  CHECK_FALSE(would_change(tmp.path() + "/clean", o));
}

TEST_CASE("a rename that makes two tensors one name is refused and writes nothing") {
  TempDir tmp;
  nlohmann::json spec = {{"base", "repeated-prefix"},
                         {"add",
                          {{"model.safetensors",
                            {{{"name", "model.language_model.embed_tokens.weight"},
                              {"dtype", "BF16"},
                              {"shape", {2}},
                              {"fill", 1.0}}}}}}};
  build_spec(spec, tmp.path() + "/in");
  ckd::FixOptions o;
  o.strip_prefixes = {"language_model.language_model."};
  CHECK_THROWS_WITH_AS(fix_to(tmp.path() + "/in", tmp.path() + "/out", o),
                       doctest::Contains("collision"), ckd::FixError);
  CHECK_FALSE(fs::exists(tmp.path() + "/out"));
  CHECK_FALSE(fs::exists(ckd::partial_dir_for(tmp.path() + "/out")));

  o.strip_prefixes.clear();
  build_named("base-bf16", tmp.path() + "/b");
  o.renames = {{"(q|k)_proj", "qk_proj"}};
  CHECK_THROWS_AS(fix_to(tmp.path() + "/b", tmp.path() + "/b-out", o), ckd::FixError);
  CHECK_FALSE(fs::exists(tmp.path() + "/b-out"));
}

TEST_CASE("rename: RE2 substitution with groups; invalid patterns are refused") {
  TempDir tmp;
  build_named("base-fp8-block", tmp.path() + "/in");
  ckd::FixOptions o;
  o.renames = {{"weight_scale_inv$", "weight_scale"}};
  fix_to(tmp.path() + "/in", tmp.path() + "/out", o);
  auto before = tensors_of(tmp.path() + "/in");
  auto after = tensors_of(tmp.path() + "/out");
  CHECK(after.count("model.layers.0.self_attn.q_proj.weight_scale"));
  CHECK_FALSE(after.count("model.layers.0.self_attn.q_proj.weight_scale_inv"));
  CHECK(after["model.layers.0.self_attn.q_proj.weight_scale"] ==
        before["model.layers.0.self_attn.q_proj.weight_scale_inv"]);

  o.renames = {{"layers\\.(\\d+)\\.", "h.\\1."}};
  fix_to(tmp.path() + "/in", tmp.path() + "/out2", o);
  CHECK(tensors_of(tmp.path() + "/out2").count("model.h.1.mlp.gate.weight"));

  o.renames = {{"(", "x"}};
  CHECK_THROWS_WITH_AS(fix_to(tmp.path() + "/in", tmp.path() + "/out3", o),
                       doctest::Contains("invalid pattern"), ckd::FixError);
  o.renames = {{"a", "\\3"}};
  CHECK_THROWS_WITH_AS(fix_to(tmp.path() + "/in", tmp.path() + "/out3", o),
                       doctest::Contains("invalid replacement"), ckd::FixError);
}

TEST_CASE("inject-input-scale: the format's name, dtype and shape, recorded in __metadata__") {
  TempDir tmp;
  build_named("missing-input-scale-modelopt", tmp.path() + "/in");
  REQUIRE(count_rule(scan_all_rules(tmp.path() + "/in"), "missing-input-scale") > 0);
  ckd::FixOptions o;
  o.inject_input_scale = 2.5f;
  ckd::FixOutcome outcome = fix_to(tmp.path() + "/in", tmp.path() + "/out", o);
  REQUIRE(outcome.plan.summaries.size() == 1);
  CHECK(outcome.plan.summaries[0].unsafe);
  CHECK(outcome.plan.summaries[0].count == 2);

  auto ck = ckd::Checkpoint::open(tmp.path() + "/out");
  const ckd::TensorRef* added = ck->find("model.layers.1.mlp.gate_proj.input_scale");
  REQUIRE(added);
  CHECK(added->info->dtype == ckd::Dtype::kF32);
  CHECK(added->info->shape.empty());  // modelopt: 0-d
  float value = 0;
  std::memcpy(&value, added->shard->tensor_bytes(*added->info).data(), 4);
  CHECK(value == 2.5f);
  CHECK(added->shard->metadata()->at("ckptdoctor.invented").find("not calibrated") !=
        std::string::npos);
  CHECK(count_rule(scan_all_rules(tmp.path() + "/out"), "missing-input-scale") == 0);

  // Control: weight-only NVFP4 declares no static activations, so nothing is invented.
  build_named("weight-only-no-input-scale", tmp.path() + "/w");
  CHECK_FALSE(would_change(tmp.path() + "/w", o));
  // --apply-safe never invents values.
  ckd::FixOptions safe;
  safe.apply_safe = true;
  CHECK_FALSE(would_change(tmp.path() + "/in", safe));
}

TEST_CASE("drop-tied-lm-head drops a tied head only") {
  TempDir tmp;
  build_named("redundant-lm-head", tmp.path() + "/in");
  ckd::FixOptions o;
  o.drop_tied_lm_head = true;
  fix_to(tmp.path() + "/in", tmp.path() + "/out", o);
  auto after = tensors_of(tmp.path() + "/out");
  CHECK_FALSE(after.count("lm_head.weight"));
  CHECK(after.size() + 1 == tensors_of(tmp.path() + "/in").size());
  CHECK(count_rule(scan_all_rules(tmp.path() + "/out"), "redundant-lm-head") == 0);

  // Control: tie_word_embeddings false keeps lm_head.
  build_named("base-fp8-block", tmp.path() + "/untied");
  CHECK_FALSE(would_change(tmp.path() + "/untied", o));
}

TEST_CASE("normalize-headers repairs padding, alignment and metadata without touching bytes") {
  for (std::string spec : {"metadata-null", "header-leading-whitespace", "container-nul-padding"}) {
    CAPTURE(spec);
    TempDir tmp;
    build_named(spec, tmp.path() + "/in");
    auto before = tensors_of(tmp.path() + "/in");
    ckd::FixOptions o;
    o.normalize_headers = true;
    fix_to(tmp.path() + "/in", tmp.path() + "/out", o);
    CHECK(tensors_of(tmp.path() + "/out") == before);
    auto rescan = scan_all_rules(tmp.path() + "/out");
    for (const char* rule :
         {"header-padding", "unaligned-data", "invalid-metadata", "invalid-header"})
      CHECK(count_rule(rescan, rule) == 0);
  }
}

TEST_CASE("regenerate-index: weight_map and total_size from the shard headers") {
  for (std::string spec : {"index-total-size", "index-tensor-mismatch", "index-missing"}) {
    CAPTURE(spec);
    TempDir tmp;
    build_named(spec, tmp.path() + "/in");
    ckd::FixOptions o;
    o.regenerate_index = true;
    ckd::FixOutcome outcome = fix_to(tmp.path() + "/in", tmp.path() + "/out", o);
    CHECK(outcome.plan.index_changed);
    // Expected from the shard headers, computed here independently of the writer.
    nlohmann::json expected_map = nlohmann::json::object();
    uint64_t total = 0;
    auto ck = ckd::Checkpoint::open(tmp.path() + "/in");
    for (const auto& shard : ck->shards()) {
      for (const auto& t : shard->tensors()) {
        expected_map[t.name] = shard->display_name();
        total += t.nbytes();
      }
    }
    auto index =
        nlohmann::json::parse(file_bytes(tmp.path() + "/out/model.safetensors.index.json"));
    CHECK(index["weight_map"] == expected_map);
    CHECK(index["metadata"]["total_size"] == total);
    auto rescan = scan_all_rules(tmp.path() + "/out");
    CHECK(rescan.errors == 0);
    CHECK(rescan.warnings == 0);
  }
}

TEST_CASE("--apply-safe enables the safe fixes of the rules that fire; dry run writes nothing") {
  TempDir tmp;
  build_spec(kTwoShardPrefixed, tmp.path() + "/in");
  ckd::FixRequest r;
  r.dir = tmp.path() + "/in";
  r.out_dir = tmp.path() + "/out";
  r.options.apply_safe = true;
  r.dry_run = true;
  ckd::FixOutcome plan = ckd::run_fix(r);
  CHECK(plan.plan.changes_anything());
  CHECK_FALSE(fs::exists(r.out_dir));
  r.dry_run = false;
  ckd::run_fix(r);
  CHECK(count_rule(scan_all_rules(r.out_dir), "repeated-prefix") == 0);

  build_named("base-fp8-block", tmp.path() + "/clean");
  CHECK_FALSE(would_change(tmp.path() + "/clean", r.options));
}

TEST_CASE("every rule marked fix: safe or unsafe has a fix that repairs it") {
  const ckd::RuleSet rules = ckd::RuleSet::builtin();
  for (const ckd::Rule& rule : rules.rules()) {
    if (rule.fix != ckd::FixApplicability::kSafe && rule.fix != ckd::FixApplicability::kUnsafe)
      continue;
    CAPTURE(rule.name);
    bool found = false;
    for (const auto& fix : ckd::builtin_fixes()) {
      auto r = fix->repairs();
      if (std::find(r.begin(), r.end(), rule.name) != r.end() &&
          fix->unsafe() == (rule.fix == ckd::FixApplicability::kUnsafe))
        found = true;
    }
    CHECK(found);
  }
}

TEST_CASE("inputs a rewrite cannot repair without loss are refused") {
  for (std::string spec : {"filesize-truncated", "index-missing-shard", "duplicate-across-shards",
                           "offsets-overlap-and-size"}) {
    CAPTURE(spec);
    TempDir tmp;
    build_named(spec, tmp.path() + "/in");
    ckd::FixOptions o;
    o.regenerate_index = true;
    CHECK_THROWS_AS(fix_to(tmp.path() + "/in", tmp.path() + "/out", o), ckd::FixError);
    CHECK_FALSE(fs::exists(tmp.path() + "/out"));
  }
}

TEST_CASE("output directory checks: OUT is DIR, inside DIR, non-empty, or not creatable") {
  TempDir tmp;
  std::string in = tmp.path() + "/in";
  build_named("repeated-prefix", in);
  auto before = snapshot(in);
  ckd::FixOptions o;
  o.strip_prefixes = {"auto"};
  CHECK_THROWS_WITH_AS(fix_to(in, in, o), doctest::Contains("--in-place"), ckd::IoError);
  CHECK_THROWS_WITH_AS(fix_to(in, in + "/", o), doctest::Contains("--in-place"), ckd::IoError);
  CHECK_THROWS_WITH_AS(fix_to(in, in + "/sub", o), doctest::Contains("inside"), ckd::IoError);
  CHECK_THROWS_WITH_AS(fix_to(in, tmp.path(), o), doctest::Contains("contains"), ckd::IoError);
  fs::create_directories(tmp.path() + "/full");
  std::ofstream(tmp.path() + "/full/keep.txt") << "mine";
  CHECK_THROWS_WITH_AS(fix_to(in, tmp.path() + "/full", o), doctest::Contains("--force"),
                       ckd::IoError);
  std::ofstream(tmp.path() + "/afile") << "x";
  CHECK_THROWS_AS(fix_to(in, tmp.path() + "/afile/out", o), ckd::IoError);
  CHECK(snapshot(in) == before);

  // --force writes into the non-empty directory and keeps what was there.
  ckd::FixRequest r;
  r.dir = in;
  r.out_dir = tmp.path() + "/full";
  r.options = o;
  r.force = true;
  ckd::run_fix(r);
  CHECK(file_bytes(tmp.path() + "/full/keep.txt") == "mine");
  CHECK(tensors_of(tmp.path() + "/full").count("model.language_model.embed_tokens.weight"));
  CHECK_FALSE(fs::exists(ckd::partial_dir_for(tmp.path() + "/full")));
}

TEST_CASE("--in-place replaces the changed files and leaves no staging behind") {
  TempDir tmp;
  std::string dir = tmp.path() + "/ck";
  build_spec(kTwoShardPrefixed, dir);
  auto generation_config = file_bytes(dir + "/generation_config.json");
  ckd::FixRequest r;
  r.dir = dir;
  r.in_place = true;
  r.options.strip_prefixes = {"language_model.language_model."};
  ckd::FixOutcome outcome = ckd::run_fix(r);
  REQUIRE(outcome.written);
  CHECK(outcome.written->files_copied == 2);  // config.json edited, the index regenerated
  CHECK(tensors_of(dir).count("model.language_model.embed_tokens.weight"));
  CHECK_FALSE(fs::exists(dir + "/" + ckd::kStagingDirName));
  CHECK(file_bytes(dir + "/generation_config.json") == generation_config);
  CHECK(scan_all_rules(dir).errors == 0);
  // Running it again has nothing left to do.
  outcome = ckd::run_fix(r);
  CHECK_FALSE(outcome.written);
}

TEST_CASE("kill -9 at every stage: the input stays intact and a re-run finishes the job") {
  TempDir tmp;
  std::string fresh = tmp.path() + "/fresh";
  build_spec(kTwoShardPrefixed, fresh);
  const auto original = snapshot(fresh);
  // The expected result: an uninterrupted out-of-place run.
  std::string expected_dir = tmp.path() + "/expected";
  REQUIRE(run_cli("fix " + fresh + " --strip-prefix language_model.language_model. -o " +
                  expected_dir) == 0);
  const auto expected = snapshot(expected_dir);
  const std::string fix_args = " --strip-prefix language_model.language_model.";

  SUBCASE("out of place") {
    for (std::string point : {"staged:1", "staged:3", "published:1"}) {
      CAPTURE(point);
      std::string out = tmp.path() + "/out-" + std::string(point).replace(point.find(':'), 1, "-");
      int code = run_cli("fix " + fresh + fix_args + " -o " + out, "CKPTDOCTOR_CRASH_AT=" + point);
      CHECK(code == 128 + SIGKILL);
      CHECK(snapshot(fresh) == original);
      if (point.starts_with("staged")) {
        // Nothing under the final name; only the hidden partial directory.
        CHECK_FALSE(fs::exists(out));
        CHECK(fs::exists(ckd::partial_dir_for(out)));
        CHECK(run_cli("fix " + fresh + fix_args + " -o " + out) == 0);
      }
      CHECK_FALSE(fs::exists(ckd::partial_dir_for(out)));
      CHECK(snapshot(out) == expected);
    }
  }
  SUBCASE("in place") {
    for (std::string point : {"staged:2", "committed:1", "published:1", "published:3"}) {
      CAPTURE(point);
      std::string dir = tmp.path() + "/ip-" + std::string(point).replace(point.find(':'), 1, "-");
      fs::copy(fresh, dir, fs::copy_options::recursive);
      int code = run_cli("fix " + dir + fix_args + " --in-place", "CKPTDOCTOR_CRASH_AT=" + point);
      CHECK(code == 128 + SIGKILL);
      CHECK(fs::exists(dir + "/" + ckd::kStagingDirName));
      if (point.starts_with("staged")) {
        // Before the commit point DIR's own files are untouched.
        auto now = snapshot(dir);
        for (const auto& [name, bytes] : original) CHECK(now[name] == bytes);
      }
      // A scan reports a committed, unfinished fix; an out-of-place run refuses to start.
      if (!point.starts_with("staged")) {
        CHECK(count_rule(scan_all_rules(dir), "interrupted-fix") == 1);
        CHECK(run_cli("fix " + dir + fix_args + " -o " + tmp.path() + "/x") == 2);
      } else {
        CHECK(count_rule(scan_all_rules(dir), "interrupted-fix") == 0);
      }
      // Re-running the command finishes the fix (past the commit point, and stops there) or
      // redoes it (before): the result is entirely new, the fix applied once.
      CHECK(run_cli("fix " + dir + fix_args + " --in-place") == 0);
      CHECK_FALSE(fs::exists(dir + "/" + ckd::kStagingDirName));
      CHECK(snapshot(dir) == expected);
    }
  }
}

TEST_CASE("a full disk (file size limit) fails cleanly, naming the file, leaving nothing") {
  TempDir tmp;
  std::string in = tmp.path() + "/in";
  build_spec(kTwoShardPrefixed, in);
  auto before = snapshot(in);
  std::string out = tmp.path() + "/out";
  std::string cmd = "sh -c 'ulimit -f 64; exec " + std::string(CKD_BINARY) + " fix " + in +
                    " --strip-prefix auto -o " + out + "' >" + tmp.path() + "/log 2>&1";
  int status = std::system(cmd.c_str());
  CHECK(WEXITSTATUS(status) == 2);
  std::string log = file_bytes(tmp.path() + "/log");
  CHECK(log.find("file too large") != std::string::npos);
  CHECK(log.find(".safetensors") != std::string::npos);
  CHECK_FALSE(fs::exists(out));
  CHECK_FALSE(fs::exists(ckd::partial_dir_for(out)));
  CHECK(snapshot(in) == before);
}

TEST_CASE("a config nested 100k levels deep is copied unchanged, never walked") {
  TempDir tmp;
  build_named("hostile-config-nesting", tmp.path() + "/in");
  ckd::FixOptions o;
  o.strip_prefixes = {"model."};
  ckd::FixOutcome outcome = fix_to(tmp.path() + "/in", tmp.path() + "/out", o);
  CHECK(outcome.plan.edited_files.empty());
  CHECK(file_bytes(tmp.path() + "/out/config.json") == file_bytes(tmp.path() + "/in/config.json"));
}

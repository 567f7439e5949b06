// ckptdoctor diff's library: keys only in one checkpoint, renames (packing, prefix, per-expert
// vs fused), dtype and shape changes, config differences by JSON path and companion files by
// digest, on the real producers' checkpoints and on small written ones.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "checkpoint/checkpoint.h"
#include "diff/checkpoint_diff.h"
#include "report/diff_report.h"
#include "remote/remote_store.h"
#include "safetensors/shard.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace {

std::string producers(const std::string& name) {
  return std::string(CKD_SOURCE_DIR) + "/fixtures/producers/" + name;
}

std::unique_ptr<ckd::Checkpoint> open_path(const std::string& path) {
  return ckd::Checkpoint::open(ckd::open_store(path, {}));
}

// A one-shard checkpoint of zero-filled tensors, written the reference writer's way.
void write_shard(const std::string& path, std::vector<ckd::TensorSpec> tensors) {
  std::string header = ckd::serialize_header(nullptr, tensors);
  uint64_t bytes = 0;
  for (const auto& t : tensors) bytes += t.nbytes;
  std::ofstream out(path, std::ios::binary);
  out << header << std::string(bytes, '\0');
}

ckd::TensorSpec bf16(const std::string& name, std::vector<uint64_t> shape, ckd::Dtype d = ckd::Dtype::kBF16) {
  uint64_t n = 1;
  for (uint64_t s : shape) n *= s;
  return {name, d, shape, n * ckd::dtype_bits(d) / 8};
}

size_t count_param(const std::vector<std::string>& names, const std::string& suffix) {
  size_t n = 0;
  for (const auto& name : names) n += name.ends_with(suffix);
  return n;
}

}  // namespace

TEST_CASE("diff: a checkpoint is the same as itself") {
  auto a = open_path(producers("source-llama"));
  auto b = open_path(producers("source-llama"));
  ckd::CheckpointDiff d = ckd::diff_checkpoints(*a, *b);
  CHECK(d.same());
  CHECK(d.same_tensors == a->tensor_names().size());
  CHECK(d.files_compared);
  CHECK(d.files_same >= 1);  // generation_config.json
}

TEST_CASE("diff: BF16 source against its NVFP4 release") {
  auto a = open_path(producers("source-llama"));
  auto b = open_path(producers("ct-nvfp4"));
  ckd::CheckpointDiff d = ckd::diff_checkpoints(*a, *b);
  CHECK_FALSE(d.same());
  // weight -> weight_packed for the 14 linears: renames of kind "packing", no prefix.
  size_t packing = 0;
  for (const auto& r : d.renamed) {
    packing += r.kind == "packing";
    CHECK(r.a.size() == 1);
    CHECK(r.a[0].ends_with(".weight"));
    CHECK(r.b[0].ends_with(".weight_packed"));
  }
  CHECK(packing == 14);
  CHECK_FALSE(d.prefix.has_value());
  CHECK(d.only_in_a.empty());
  CHECK(count_param(d.only_in_b, ".weight_scale") == 14);
  CHECK(count_param(d.only_in_b, ".weight_global_scale") == 14);
  // Each renamed pair also changed dtype and shape: BF16 [o, i] -> U8 [o, i/2].
  size_t to_u8 = 0;
  for (const auto& c : d.changed) to_u8 += c.a_dtype == "BF16" && c.b_dtype == "U8";
  CHECK(to_u8 == 14);
  // The declaration appears under quantization, not config.
  bool declared = false;
  for (const auto& c : d.quantization)
    declared |= c.path == "/quantization_config" && c.change == "added";
  CHECK(declared);
  for (const auto& c : d.config) CHECK(c.path.find("quantization_config") == std::string::npos);
}

TEST_CASE("diff: a prefix change and per-expert vs fused experts are renames") {
  ckd_test::TempDir tmp;
  fs::create_directory(tmp.path() + "/a");
  fs::create_directory(tmp.path() + "/b");
  std::vector<ckd::TensorSpec> a, b;
  a.push_back(bf16("model.embed_tokens.weight", {8, 4}));
  a.push_back(bf16("model.layers.0.self_attn.q_proj.weight", {4, 4}));
  for (int e = 0; e < 2; ++e) {
    for (const char* p : {"gate_proj", "up_proj", "down_proj"})
      a.push_back(bf16("model.layers.0.mlp.experts." + std::to_string(e) + "." + p + ".weight", {4, 4}));
  }
  a.push_back(bf16("model.norm.weight", {4}));
  b.push_back(bf16("model.language_model.embed_tokens.weight", {8, 4}, ckd::Dtype::kF16));
  b.push_back(bf16("model.language_model.layers.0.self_attn.q_proj.weight", {4, 4}));
  b.push_back(bf16("model.language_model.layers.0.mlp.experts.gate_up_proj", {2, 4, 8}));
  b.push_back(bf16("model.language_model.layers.0.mlp.experts.down_proj", {2, 4, 4}));
  b.push_back(bf16("lm_head.weight", {8, 4}));
  write_shard(tmp.path() + "/a/model.safetensors", a);
  write_shard(tmp.path() + "/b/model.safetensors", b);
  auto ca = open_path(tmp.path() + "/a");
  auto cb = open_path(tmp.path() + "/b");
  ckd::CheckpointDiff d = ckd::diff_checkpoints(*ca, *cb);
  REQUIRE(d.prefix.has_value());
  CHECK(d.prefix->from == "model.");
  CHECK(d.prefix->to == "model.language_model.");
  size_t experts = 0, prefix_only = 0;
  for (const auto& r : d.renamed) {
    if (r.kind == "prefix+experts") {
      ++experts;
      // gate and up of two experts fold into gate_up_proj; two down_proj into down_proj.
      CHECK(r.a.size() == (r.b[0].ends_with("gate_up_proj") ? 4 : 2));
      CHECK(r.b.size() == 1);
    }
    prefix_only += r.kind == "prefix";
  }
  CHECK(experts == 2);  // gate_up_proj and down_proj
  CHECK(prefix_only == 2);  // embed_tokens and q_proj
  CHECK(d.only_in_a == std::vector<std::string>{"model.norm.weight"});
  CHECK(d.only_in_b == std::vector<std::string>{"lm_head.weight"});
  REQUIRE(d.changed.size() == 1);
  CHECK(d.changed[0].a_name == "model.embed_tokens.weight");
  CHECK(d.changed[0].b_name == "model.language_model.embed_tokens.weight");
  CHECK(d.changed[0].a_dtype == "BF16");
  CHECK(d.changed[0].b_dtype == "F16");
  // Lone files: keys are compared, companion files are not.
  auto fa = open_path(tmp.path() + "/a/model.safetensors");
  auto fb = open_path(tmp.path() + "/a/model.safetensors");
  ckd::CheckpointDiff same = ckd::diff_checkpoints(*fa, *fb);
  CHECK(same.same());
  CHECK_FALSE(same.files_compared);
}

TEST_CASE("diff: tokenizer and generation files by size and digest") {
  ckd_test::TempDir tmp;
  for (const char* side : {"a", "b"}) {
    fs::create_directory(tmp.path() + "/" + side);
    write_shard(tmp.path() + "/" + side + "/model.safetensors", {bf16("w.weight", {2, 2})});
    std::ofstream(tmp.path() + "/" + side + "/generation_config.json") << "{\"top_p\": 0.9}";
    std::ofstream(tmp.path() + "/" + side + "/README.md") << side;  // not a companion file
  }
  std::ofstream(tmp.path() + "/a/tokenizer_config.json") << "{\"chat_template\": \"{{ x }}\"}";
  std::ofstream(tmp.path() + "/b/tokenizer_config.json") << "{\"chat_template\": \"{{ y }}\"}";
  std::ofstream(tmp.path() + "/a/chat_template.jinja") << "{{ x }}";
  auto a = open_path(tmp.path() + "/a");
  auto b = open_path(tmp.path() + "/b");
  ckd::CheckpointDiff d = ckd::diff_checkpoints(*a, *b);
  CHECK(d.files_same == 1);
  REQUIRE(d.files.size() == 2);
  CHECK(d.files[0].name == "chat_template.jinja");
  CHECK(d.files[0].change == "only_in_a");
  CHECK(d.files[1].name == "tokenizer_config.json");
  CHECK(d.files[1].change == "differ");
  CHECK(d.files[1].a->bytes == d.files[1].b->bytes);
  CHECK(d.files[1].a->sha256 != d.files[1].b->sha256);
  CHECK(d.same_tensors == 1);
  CHECK_FALSE(d.same());
  CHECK(ckd::is_companion_file("tokenizer.model"));
  CHECK(ckd::is_companion_file("special_tokens_map.json"));
  CHECK_FALSE(ckd::is_companion_file("README.md"));
  CHECK_FALSE(ckd::is_companion_file("config.json"));
}

TEST_CASE("diff_json reports each path with both values") {
  auto a = nlohmann::json::parse(R"({"a": 1, "b": [1, 2, 3], "n": {"x": "s"}})");
  auto b = nlohmann::json::parse(R"({"a": 2, "b": [1, 2], "n": {"x": "s"}, "c": true})");
  auto changes = ckd::diff_json("config.json", a, b);
  REQUIRE(changes.size() == 3);
  CHECK(changes[0].path == "/a");
  CHECK(changes[0].change == "changed");
  CHECK(changes[0].a == 1);
  CHECK(changes[0].b == 2);
  CHECK(changes[1].path == "/b/2");
  CHECK(changes[1].change == "removed");
  CHECK(changes[1].a == 3);
  CHECK(changes[2].path == "/c");
  CHECK(changes[2].change == "added");
  CHECK(changes[2].b == true);
  CHECK(ckd::diff_json("config.json", a, a).empty());
}

TEST_CASE("diff: a checkpoint whose header does not parse is an error, not a difference") {
  ckd_test::TempDir tmp;
  fs::create_directory(tmp.path() + "/bad");
  std::ofstream(tmp.path() + "/bad/model.safetensors", std::ios::binary)
      << ckd_test::safetensors_bytes("[1, 2", "", 1000);
  auto good = open_path(producers("source-llama"));
  auto bad = open_path(tmp.path() + "/bad");
  CHECK_THROWS_WITH_AS(ckd::diff_checkpoints(*good, *bad), doctest::Contains("model.safetensors"),
                       ckd::IoError);
}

TEST_CASE("diff markdown: a hostile name cannot break a table row or inject markup") {
  ckd::CheckpointDiff d;
  d.a = "a|dir";
  d.b = "b";
  d.only_in_a = {"x.evil|name`<img src=x>.weight"};
  d.renamed.push_back({"name", {"p<b>.weight"}, {"q.weight"}});
  std::ostringstream out;
  ckd::write_diff_markdown(out, d, 0);
  std::string md = out.str();
  CHECK(md.find("## ckptdoctor diff: differ") == 0);
  CHECK(md.find("`a\\|dir`") != std::string::npos);
  // Inside code spans the pipe is escaped and the backtick replaced; markup stays literal text.
  CHECK(md.find("`x.evil\\|name'<img src=x>.weight`") != std::string::npos);
  std::istringstream lines(md);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != '|') continue;
    size_t pipes = 0;
    for (size_t i = 0; i < line.size(); ++i) pipes += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
    CHECK(pipes >= 3);
    CHECK(pipes <= 5);
  }
}

TEST_CASE("diff: FP8 per-expert weights repacked into fused BF16 show as a dtype change") {
  // The llmcompressor repack_moe defect (fixtures/producers README): the experts were fused
  // and are no longer FP8.
  auto a = open_path(producers("ct-vl-moe-fp8-dynamic"));
  auto b = open_path(producers("ct-vl-moe-fp8-repacked"));
  ckd::CheckpointDiff d = ckd::diff_checkpoints(*a, *b);
  size_t experts = 0;
  for (const auto& r : d.renamed) experts += r.kind == "experts";
  CHECK(experts == 4);
  size_t fp8_to_bf16 = 0;
  for (const auto& c : d.changed) {
    if (c.a_dtype == "F8_E4M3" && c.b_dtype == "BF16") {
      ++fp8_to_bf16;
      CHECK(c.b_name.find(".mlp.experts.") != std::string::npos);
      CHECK(c.b_shape.size() == 3);
    }
  }
  CHECK(fp8_to_bf16 == 4);  // gate_up_proj and down_proj of two layers
}

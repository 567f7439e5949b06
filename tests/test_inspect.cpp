// ckptdoctor inspect's library: parameter counts (the Hub's, and packed weights unpacked), bits
// per weight, modules by scheme, the tensor filter, single-file checkpoints and unreadable
// headers. The real producers' checkpoints (fixtures/producers) are the inputs; the unpacked
// counts are held to the BF16 source's shapes, which no packing arithmetic touched.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "checkpoint/checkpoint.h"
#include "inspect/inspect.h"
#include "io/sha256.h"
#include "remote/remote_store.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace {

std::string producers(const std::string& name) {
  return std::string(CKD_SOURCE_DIR) + "/fixtures/producers/" + name;
}

std::unique_ptr<ckd::Checkpoint> open_path(const std::string& path) {
  return ckd::Checkpoint::open(ckd::open_store(path, {}));
}

// Elements of the source's weights of the modules `quantized` stores as a linear of `scheme`.
uint64_t source_weights_of(const ckd::Checkpoint& quantized, const ckd::Checkpoint& source,
                           const std::string& scheme, size_t* modules) {
  uint64_t total = 0;
  *modules = 0;
  for (const ckd::Module& m : quantized.modules().modules()) {
    if (!m.linear || !m.group || !m.quantized) continue;
    if (ckd::weight_format_name(m.group->format) != scheme) continue;
    const ckd::TensorRef* ref = source.find(std::string(m.path) + ".weight");
    REQUIRE(ref != nullptr);
    total += ref->info->numel;
    ++*modules;
  }
  return total;
}

const ckd::SchemeRow* row(const ckd::InspectReport& r, const std::string& scheme, bool linear) {
  for (const auto& s : r.schemes) {
    if (s.scheme == scheme && s.linear == linear) return &s;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("inspect: NVFP4 weights count as the FP4 values they hold, the Hub's count as bytes") {
  auto quant = open_path(producers("ct-nvfp4"));
  auto source = open_path(producers("source-llama"));
  REQUIRE(ckd::unreadable_reason(*quant).empty());
  ckd::InspectReport r = ckd::inspect_checkpoint(*quant, {});
  size_t modules = 0;
  uint64_t held = source_weights_of(*quant, *source, "NVFP4", &modules);
  CHECK(modules == 14);
  const ckd::SchemeRow* nvfp4 = row(r, "NVFP4", true);
  REQUIRE(nvfp4 != nullptr);
  CHECK(nvfp4->modules == 14);
  CHECK(nvfp4->parameters == held);
  REQUIRE(r.parameters.count("FP4 in U8"));
  CHECK(r.parameters.at("FP4 in U8") == held);
  // The Hub counts the packed U8 tensors as stored: half the values.
  REQUIRE(r.hub_parameters.count("U8"));
  CHECK(r.hub_parameters.at("U8") == held / 2);
  CHECK(r.parameters_total == r.hub_total + held / 2);
  // 4 bits per value, an FP8 scale per 16 values (0.5 bit), and per-tensor F32 globals.
  REQUIRE(r.quantized_bits_per_weight.has_value());
  CHECK(*r.quantized_bits_per_weight > 4.5);
  CHECK(*r.quantized_bits_per_weight < 4.52);
  CHECK(r.quant_method == "compressed-tensors");
  CHECK(r.architectures == std::vector<std::string>{"LlamaForCausalLM"});
  CHECK(r.shards.size() == 2);
  // Embeddings and norms stay BF16, outside the linears.
  CHECK(row(r, "BF16", false) != nullptr);
}

TEST_CASE("inspect: GPTQ-style int4 in int32 words counts eight values a word") {
  auto quant = open_path(producers("ct-w4a16"));
  auto source = open_path(producers("source-llama"));
  ckd::InspectReport r = ckd::inspect_checkpoint(*quant, {});
  size_t modules = 0;
  std::string scheme;
  for (const auto& s : r.schemes) {
    if (s.linear && s.scheme != "BF16") scheme = s.scheme;
  }
  REQUIRE(!scheme.empty());
  uint64_t held = source_weights_of(*quant, *source, scheme, &modules);
  CHECK(modules == 14);
  REQUIRE(r.parameters.count("INT4 in I32"));
  CHECK(r.parameters.at("INT4 in I32") == held);
  CHECK(r.hub_parameters.at("I32") >= held / 8);
  // 4 bits, a BF16 scale per 128 values (0.125 bit), the weight_shape sidecars.
  REQUIRE(r.quantized_bits_per_weight.has_value());
  CHECK(*r.quantized_bits_per_weight > 4.12);
  CHECK(*r.quantized_bits_per_weight < 4.2);
}

TEST_CASE("inspect: an unquantized checkpoint's counts are the Hub's") {
  auto source = open_path(producers("source-llama"));
  ckd::InspectReport r = ckd::inspect_checkpoint(*source, {});
  CHECK(r.quant_method == "none");
  CHECK(r.parameters_total == r.hub_total);
  CHECK(r.parameters == r.hub_parameters);
  CHECK_FALSE(r.quantized_bits_per_weight.has_value());
  CHECK(r.shards.size() == 4);
}

TEST_CASE("inspect: --filter lists exactly the tensors its glob matches") {
  auto quant = open_path(producers("ct-nvfp4"));
  ckd::InspectOptions options;
  options.filters = {"*layers.0.self_attn.q_proj.*"};
  ckd::InspectReport r = ckd::inspect_checkpoint(*quant, options);
  CHECK(r.tensors_listed);
  REQUIRE(r.tensor_rows.size() >= 3);  // weight_packed, weight_scale, weight_global_scale...
  for (const auto& t : r.tensor_rows) {
    CHECK(t.name.find("model.layers.0.self_attn.q_proj.") == 0);
    CHECK(t.scheme == "NVFP4");
  }
  ckd::InspectReport none = ckd::inspect_checkpoint(*quant, {});
  CHECK_FALSE(none.tensors_listed);
  CHECK(none.tensor_rows.empty());
}

TEST_CASE("a lone .safetensors file: no index, the configs only when it is the whole checkpoint") {
  // One shard of two: the config describes the whole model, so it is not read.
  auto shard = open_path(producers("ct-nvfp4") + "/model-00001-of-00002.safetensors");
  CHECK(shard->shards().size() == 1);
  CHECK_FALSE(shard->index().has_value());
  CHECK(shard->config() == nullptr);
  CHECK(ckd::unreadable_reason(*shard).empty());
  ckd::InspectReport r = ckd::inspect_checkpoint(*shard, {});
  CHECK(r.single_file);
  CHECK_FALSE(r.configs_read);
  CHECK(r.quant_method == "none");

  // Alone in its directory with its config: the config is its own.
  ckd_test::TempDir tmp;
  fs::copy_file(producers("ct-nvfp4") + "/config.json", tmp.path() + "/config.json");
  fs::copy_file(producers("source-llama") + "/model-00001-of-00004.safetensors",
                tmp.path() + "/model.safetensors");
  auto lone = open_path(tmp.path() + "/model.safetensors");
  CHECK(lone->config() != nullptr);
  ckd::InspectReport lr = ckd::inspect_checkpoint(*lone, {});
  CHECK(lr.configs_read);
  CHECK(lr.quant_method == "compressed-tensors");

  // A directory still opens as one; other files are refused with their name.
  std::ofstream(tmp.path() + "/notes.txt") << "x";
  CHECK_THROWS_WITH_AS(open_path(tmp.path() + "/notes.txt"),
                       doctest::Contains("not a directory or a .safetensors file"), ckd::IoError);
  CHECK_THROWS_AS(open_path(tmp.path() + "/missing.safetensors"), ckd::IoError);
}

TEST_CASE("unreadable_reason names the file whose header does not parse") {
  ckd_test::TempDir tmp;
  std::ofstream(tmp.path() + "/model.safetensors", std::ios::binary)
      << ckd_test::safetensors_bytes("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_off", "");
  auto ck = open_path(tmp.path());
  std::string why = ckd::unreadable_reason(*ck);
  CHECK(why.find("model.safetensors") != std::string::npos);
  auto lone = open_path(tmp.path() + "/model.safetensors");
  CHECK_FALSE(ckd::unreadable_reason(*lone).empty());
}

TEST_CASE("hub_parameter_count follows huggingface_hub: shape product, 1 for a scalar") {
  ckd::TensorInfo scalar;
  scalar.shape_valid = true;
  scalar.numel = 1;
  CHECK(ckd::hub_parameter_count(scalar) == 1);
  ckd::TensorInfo empty;
  empty.shape = {0, 4};
  empty.shape_valid = true;
  empty.numel = 0;
  CHECK(ckd::hub_parameter_count(empty) == 0);
}

TEST_CASE("sha256 matches the FIPS 180-4 examples") {
  CHECK(ckd::sha256_hex("") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(ckd::sha256_hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(ckd::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // Fed in uneven pieces: the same digest as in one call.
  std::string million(1000000, 'a');
  ckd::Sha256 h;
  for (size_t at = 0; at < million.size(); at += 997)
    h.update(std::string_view(million).substr(at, 997));
  CHECK(h.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

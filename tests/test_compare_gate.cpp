// compare as a CI gate (issue 10 #6, #7, #11 and the HTML histogram): what cannot be decoded or
// measured fails with its reason, a non-finite source value is a finding and never an error of
// 0, every tensor is read through its own shard, and the histogram bins absurd errors as such.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "compare/compare.h"
#include "report/compare_html.h"
#include "report/compare_report.h"
#include "rules/rule_set.h"
#include "test_util.h"

namespace {

using ckd_test::find_module;

namespace fs = std::filesystem;

const std::string kDir = std::string(CKD_SOURCE_DIR) + "/fixtures/compare/";

ckd::CompareReport compare(const std::string& quant, const std::string& source) {
  static const ckd::RuleSet rules = ckd::RuleSet::builtin();
  ckd::CompareRequest r;
  r.quant_dir = quant;
  r.source_dir = source;
  r.rule = rules.find("roundtrip-error");
  r.device = "cpu";
  return ckd::run_compare(r);
}

const ckd::UndecodableModule* find_undecodable(const ckd::CompareReport& r,
                                               const std::string& module) {
  for (const auto& u : r.undecodable) {
    if (u.module == module) return &u;
  }
  return nullptr;
}

// Copies a fixture into a temporary directory.
void copy_fixture(const std::string& name, const std::string& to) {
  fs::copy(kDir + name, to, fs::copy_options::recursive);
}

// Overwrites bytes of tensor `name` at `offset` (bytes into the tensor) in a copied checkpoint.
void poke(const std::string& dir, const std::string& name, uint64_t offset,
          const std::string& bytes) {
  uint64_t at = 0;
  std::string file;
  {
    auto ck = ckd::Checkpoint::open(dir);
    const ckd::TensorRef* ref = ck->find(name);
    REQUIRE(ref != nullptr);
    at = ref->shard->data_start() + ref->info->begin + offset;
    file = dir + "/" + ref->shard->display_name();
  }
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(at));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string module_of(const std::string& tensor) {
  return tensor.substr(0, tensor.rfind('.'));
}

}  // namespace

TEST_CASE("compare: a module's tensors straddling shards are each read through their own shard") {
  // Precondition of the fixture: the NVFP4 global scales sit in another file than their weights.
  for (auto [variant, weight, global] :
       {std::tuple{"ct-nvfp4-sharded", "weight_packed", "weight_global_scale"},
        std::tuple{"modelopt-nvfp4-sharded", "weight", "weight_scale_2"}}) {
    CAPTURE(variant);
    auto ck = ckd::Checkpoint::open(kDir + variant);
    const std::string module = "model.layers.0.self_attn.q_proj";
    const ckd::TensorRef* w = ck->find(module + "." + weight);
    const ckd::TensorRef* g = ck->find(module + "." + global);
    REQUIRE((w && g));
    CHECK(w->shard != g->shard);
    // The errors the oracle computed from the same tensors (scripts/make_compare_oracle.py).
    nlohmann::json expected =
        nlohmann::json::parse(std::ifstream(kDir + "expected.json"))[variant]["modules"];
    ckd::CompareReport r = compare(kDir + variant, kDir + "source-sharded");
    CHECK(r.passed());
    CHECK(r.undecodable.empty());
    REQUIRE(r.tensors.size() == expected.size());
    for (const auto& [name, want] : expected.items()) {
      CAPTURE(name);
      const ckd::ModuleError* e = find_module(r, name);
      REQUIRE(e != nullptr);
      CHECK(e->rel_error == doctest::Approx(want["rel_error"].get<double>()).epsilon(1e-9));
    }
  }
}

TEST_CASE("compare: a shard truncated by one byte fails the module it cuts, with the reason") {
  ckd_test::TempDir tmp;
  copy_fixture("ct-nvfp4-sharded", tmp.path());
  // The tensor whose bytes end the second shard: the one the truncation cuts.
  const std::string shard = "model-00002-of-00003.safetensors";
  std::string last;
  {
    auto ck = ckd::Checkpoint::open(tmp.path());
    const ckd::Shard* s = ck->shard(shard);
    REQUIRE(s != nullptr);
    uint64_t end = 0;
    for (const auto& t : s->tensors()) {
      if (t.end > end) end = t.end, last = t.name;
    }
  }
  // Control: the untouched copy passes.
  CHECK(compare(tmp.path(), kDir + "source-sharded").passed());
  fs::resize_file(tmp.path() + "/" + shard, fs::file_size(tmp.path() + "/" + shard) - 1);
  ckd::CompareReport r = compare(tmp.path(), kDir + "source-sharded");
  CAPTURE(last);
  const ckd::UndecodableModule* u = find_undecodable(r, module_of(last));
  REQUIRE(u != nullptr);
  CHECK(u->reason.find(shard) != std::string::npos);
  CHECK(u->reason.find(last) != std::string::npos);
  CHECK(find_module(r, module_of(last)) == nullptr);
  CHECK(r.failed == 0);  // nothing measured is over its limit...
  CHECK_FALSE(r.passed());  // ...and the gate fails all the same
  std::ostringstream text, json, html;
  ckd::write_compare_text(text, r, ckd::Palette{false});
  ckd::write_compare_json(json, r);
  ckd::write_compare_html(html, r);
  CHECK(text.str().find(module_of(last)) != std::string::npos);
  CHECK(text.str().find("FAIL") != std::string::npos);
  nlohmann::json doc = nlohmann::json::parse(json.str());
  CHECK(doc["undecodable"][0]["module"] == module_of(last));
  CHECK(doc["summary"]["passed"] == false);
  CHECK(html.str().find("Not decoded") != std::string::npos);
}

TEST_CASE("compare: a missing shard, or nothing decoded at all, fails the gate") {
  ckd_test::TempDir tmp;
  copy_fixture("fp8-block-sharded", tmp.path());
  fs::remove(tmp.path() + "/model-00003-of-00003.safetensors");
  ckd::CompareReport r = compare(tmp.path(), kDir + "source-sharded");
  CHECK_FALSE(r.passed());
  REQUIRE_FALSE(r.undecodable.empty());
  // The shard, and each module with a tensor in it, named with the reason.
  size_t naming_the_shard = 0;
  for (const auto& u : r.undecodable) {
    CAPTURE(u.reason);
    CHECK(u.reason.find("model-00003-of-00003.safetensors") != std::string::npos);
    naming_the_shard++;
  }
  CHECK(naming_the_shard == r.undecodable.size());
  CHECK(find_undecodable(r, "model-00003-of-00003.safetensors") != nullptr);
  // Every module the oracle measured is either measured or listed as not decoded.
  nlohmann::json expected =
      nlohmann::json::parse(std::ifstream(kDir + "expected.json"))["fp8-block-sharded"]["modules"];
  for (const auto& [name, want] : expected.items()) {
    CAPTURE(name);
    CHECK((find_module(r, name) != nullptr) != (find_undecodable(r, name) != nullptr));
  }

  // One file, truncated into its header's data: no module can be decoded.
  ckd_test::TempDir single;
  copy_fixture("ct-nvfp4", single.path());
  const std::string file = single.path() + "/model.safetensors";
  uint64_t data_start = 0;
  {
    auto ck = ckd::Checkpoint::open(single.path());
    data_start = ck->shards()[0]->data_start();
  }
  fs::resize_file(file, data_start + 1);
  ckd::CompareReport none = compare(single.path(), kDir + "source");
  CHECK(none.tensors.empty());
  CHECK(none.failed == 0);
  CHECK_FALSE(none.passed());
  std::ostringstream text;
  ckd::write_compare_text(text, none, ckd::Palette{false});
  CHECK(text.str().find("no module could be measured") != std::string::npos);
  CHECK(text.str().find(": ok") == std::string::npos);
}

TEST_CASE("compare: modules in a declared format that is not modelled fail, each named") {
  ckd_test::TempDir tmp;
  copy_fixture("modelopt-nvfp4", tmp.path());
  {
    std::ofstream(tmp.path() + "/hf_quant_config.json", std::ios::trunc)
        << R"({"producer": {"name": "modelopt"}, "quantization": {"quant_algo": "W4A8_AWQ",
              "exclude_modules": ["lm_head"]}})";
  }
  ckd::CompareReport r = compare(tmp.path(), kDir + "source");
  CHECK(r.tensors.empty());
  CHECK(r.undecodable.size() == 28);
  const ckd::UndecodableModule* u = find_undecodable(r, "model.layers.0.self_attn.q_proj");
  REQUIRE(u != nullptr);
  CHECK(u->reason.find("W4A8_AWQ") != std::string::npos);
  CHECK(u->reason.find("not modelled") != std::string::npos);
  CHECK_FALSE(r.passed());
  CHECK(find_undecodable(r, "lm_head") == nullptr);  // excluded: not a failure
}

TEST_CASE("compare: a NaN in the source is a finding of its own and fails its module") {
  ckd_test::TempDir tmp;
  copy_fixture("source", tmp.path());
  // A broken module (nibbles swapped: error far over its limit) whose source gets one NaN.
  const std::string module = "model.layers.1.self_attn.o_proj";
  ckd::CompareReport before = compare(kDir + "modelopt-nvfp4-broken", tmp.path());
  const ckd::ModuleError* b = find_module(before, module);
  REQUIRE(b != nullptr);
  CHECK_FALSE(b->passed);
  const double error_before = b->rel_error;
  CHECK(error_before > 1.0);
  poke(tmp.path(), module + ".weight", 2 * 7, std::string("\xC0\x7F", 2));  // BF16 NaN
  ckd::CompareReport r = compare(kDir + "modelopt-nvfp4-broken", tmp.path());
  const ckd::ModuleError* e = find_module(r, module);
  REQUIRE(e != nullptr);
  CHECK(e->source_nan == 1);
  CHECK(e->source_inf == 0);
  CHECK_FALSE(e->passed);
  // Measured over the other elements: still the module's real error, never 0.
  CHECK(e->rel_error == doctest::Approx(error_before).epsilon(0.05));
  // A healthy module whose source holds an Inf fails too, with its count.
  ckd_test::TempDir tmp2;
  copy_fixture("source", tmp2.path());
  const std::string healthy = "model.layers.0.self_attn.q_proj";
  poke(tmp2.path(), healthy + ".weight", 0, std::string("\x80\x7F", 2));  // BF16 +Inf
  ckd::CompareReport inf = compare(kDir + "ct-nvfp4", tmp2.path());
  const ckd::ModuleError* h = find_module(inf, healthy);
  REQUIRE(h != nullptr);
  CHECK(h->source_inf == 1);
  CHECK_FALSE(h->passed);
  CHECK(h->rel_error > 0.01);
  CHECK(inf.failed == 1);
  std::ostringstream text;
  ckd::write_compare_text(text, inf, ckd::Palette{false});
  CHECK(text.str().find("non-finite source") != std::string::npos);
  CHECK(text.str().find("0 NaN and 1 Inf in model.layers.0.self_attn.q_proj.weight") !=
        std::string::npos);
  // A source that is NaN throughout leaves nothing to measure: "not measured", never 0.
  std::string all_nan;
  for (int i = 0; i < 96 * 128; ++i) all_nan += std::string("\xC0\x7F", 2);
  poke(tmp2.path(), healthy + ".weight", 0, all_nan);
  ckd::CompareReport none = compare(kDir + "ct-nvfp4", tmp2.path());
  const ckd::ModuleError* n = find_module(none, healthy);
  REQUIRE(n != nullptr);
  CHECK(n->source_nan == 96 * 128);
  CHECK(std::isnan(n->rel_error));
  CHECK_FALSE(n->passed);
  CHECK(none.by_format.at("nvfp4").max == INFINITY);
  std::ostringstream none_text;
  ckd::write_compare_text(none_text, none, ckd::Palette{false});
  CHECK(none_text.str().find("relative error not measured") != std::string::npos);
  // Control: the untouched source passes every module.
  CHECK(compare(kDir + "ct-nvfp4", kDir + "source").passed());
}

TEST_CASE("compare HTML: an absurd error lands in the overflow bin, and reads as a number") {
  CHECK(ckd::histogram_bin(8.128e8, 0.25, 40) == 40);  // 8.1e10%: static_cast<int> overflowed
  CHECK(ckd::histogram_bin(1e300, 0.25, 40) == 40);
  CHECK(ckd::histogram_bin(INFINITY, 0.25, 40) == 40);
  CHECK(ckd::histogram_bin(std::nan(""), 0.25, 40) == 40);
  CHECK(ckd::histogram_bin(0.0, 0.25, 40) == 0);
  CHECK(ckd::histogram_bin(0.126, 0.25, 40) == 10);
  CHECK(ckd::histogram_bin(0.4999, 0.25, 40) == 39);
  CHECK(ckd::readable_percent(8.1280702281e8) == "8.13e10%");
  CHECK(ckd::readable_percent(0.0953) == "9.53%");
  CHECK(ckd::readable_percent(4.127) == "412.70%");
  CHECK(ckd::readable_percent(99.999) == "1.00e4%");

  ckd::CompareReport r = compare(kDir + "modelopt-nvfp4-broken", kDir + "source");
  REQUIRE(r.failed == 2);
  std::ostringstream html;
  ckd::write_compare_html(html, r);
  const std::string page = html.str();
  // Both failures (1e6% and more, and over 100%) in the bar beyond twice the 25% limit.
  CHECK(page.find("over 50.00%: 2 modules") != std::string::npos);
  CHECK(page.find("0.00% to 1.25%: 0 modules") != std::string::npos);
  CHECK(page.find("limit 25.00%") != std::string::npos);
  CHECK(page.find("under the limit") != std::string::npos);  // the legend
  CHECK(page.find(">modules</text>") != std::string::npos);  // the count axis
  CHECK(page.find(">8.13e10%<") != std::string::npos);      // the failure table, readable
  CHECK(page.find("worst: 8.13e10%") != std::string::npos);
  // The overflow bar has a height and its count written on it.
  size_t title = page.find("<title>over 50.00%: 2 modules");
  REQUIRE(title != std::string::npos);
  std::string bar = page.substr(page.rfind("<rect", title), title - page.rfind("<rect", title));
  CAPTURE(bar);
  CHECK(bar.find("height='0'") == std::string::npos);
  CHECK(page.find(">2</text>", title) != std::string::npos);
}

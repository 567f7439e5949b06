// The shard reader against the vectors of MALFORMED.md (the reference crate's unit tests and
// other implementations'), plus hostile inputs: each ends as a named issue, never a crash.
#include <doctest/doctest.h>

#include <string>

#include "safetensors/shard.h"
#include "shard_parse_paths.h"
#include "test_util.h"

using ckd::Shard;
using ckd::ShardIssueKind;
using ckd_test::safetensors_bytes;

namespace {

// Every vector goes through both header paths (canonical fast path and generic JSON), which
// must agree on every table entry and every issue.
std::unique_ptr<Shard> parse(const std::string& bytes) {
  return ckd_test::parse_both_ways(bytes);
}

size_t count(const Shard& s, ShardIssueKind kind) {
  size_t n = 0;
  for (const auto& i : s.issues()) n += i.kind == kind;
  return n;
}

bool mentions(const Shard& s, ShardIssueKind kind, const std::string& text) {
  for (const auto& i : s.issues()) {
    if (i.kind == kind && i.message.find(text) != std::string::npos) return true;
  }
  return false;
}

const std::string kHeader60 = R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}})";

}  // namespace

TEST_CASE("R1 the reference vector loads") {
  REQUIRE(kHeader60.size() == 60);
  auto s = parse(safetensors_bytes(kHeader60, std::string(16, '\0')));
  CHECK(s->loadable());
  REQUIRE(s->tensors().size() == 1);
  CHECK(s->tensors()[0].name == "test");
  CHECK(s->tensors()[0].numel == 4);
  CHECK(s->tensors()[0].readable);
  CHECK(s->tensor_bytes(s->tensors()[0]).size() == 16);
  CHECK(count(*s, ShardIssueKind::kUnalignedData) == 1);  // N = 60 is not a multiple of 8
}

TEST_CASE("R2 R3 scalars and zero-sized tensors are valid") {
  auto scalar = parse(safetensors_bytes(
      R"({"test":{"dtype":"I32","shape":[],"data_offsets":[0,4]}})", std::string(4, '\0')));
  CHECK(scalar->loadable());
  CHECK(scalar->tensors()[0].numel == 1);
  auto empty = parse(
      safetensors_bytes(R"({"test":{"dtype":"I32","shape":[2,0],"data_offsets":[0, 0]}})", ""));
  CHECK(empty->loadable());
  CHECK(empty->tensors()[0].numel == 0);
}

TEST_CASE("R4 span disagreeing with shape x dtype") {
  auto s = parse(
      safetensors_bytes(R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0, 4]}})", ""));
  CHECK_FALSE(s->loadable());
  CHECK(mentions(*s, ShardIssueKind::kInvalidOffsets,
                 "span 4 bytes but shape [2, 2] of I32 needs 16"));
  CHECK_FALSE(s->tensors()[0].readable);
  CHECK_THROWS_AS(s->tensor_bytes(s->tensors()[0]), ckd::IoError);
}

TEST_CASE("R5 R6 trailing and missing data name both sizes") {
  auto trailing = parse(
      safetensors_bytes(kHeader60, std::string(16, '\0') + "extra_bogus_data_for_polyglot_file"));
  CHECK(mentions(*trailing, ShardIssueKind::kFileSizeMismatch, "34 trailing bytes"));
  CHECK(mentions(*trailing, ShardIssueKind::kFileSizeMismatch, "file is 118 bytes"));
  auto truncated = parse(safetensors_bytes(kHeader60, std::string(14, '\0')));
  CHECK(mentions(*truncated, ShardIssueKind::kFileSizeMismatch,
                 "describes 16 data bytes but the file holds 14"));
  CHECK_FALSE(truncated->tensors()[0].readable);  // never read past the end
}

TEST_CASE("R7 R8 R9 header length problems") {
  auto too_large =
      parse(safetensors_bytes(kHeader60, std::string(16, '\0'), 0xFFFFFF000000003Cull));
  CHECK(mentions(*too_large, ShardIssueKind::kInvalidHeader, "exceeds the 100000000-byte cap"));
  for (size_t n = 0; n < 8; ++n) {
    auto tiny = parse(std::string(n, '\0'));
    CHECK(mentions(*tiny, ShardIssueKind::kInvalidHeader,
                   "shorter than the 8-byte header length prefix"));
  }
  auto only_prefix = parse(safetensors_bytes("", "", 60));
  CHECK(mentions(*only_prefix, ShardIssueKind::kInvalidHeader,
                 "runs past the end of the file (8 bytes)"));
}

TEST_CASE("R10 R11 invalid UTF-8 and invalid JSON") {
  auto bad_utf8 = parse(safetensors_bytes("\xff", ""));
  CHECK(count(*bad_utf8, ShardIssueKind::kInvalidHeader) == 1);
  auto not_json = parse(safetensors_bytes("{", ""));
  CHECK(mentions(*not_json, ShardIssueKind::kInvalidHeader, "not valid JSON"));
  auto name_utf8 = parse(safetensors_bytes(
      "{\"a\xc3\x28\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1]}}", "x"));
  CHECK(mentions(*name_utf8, ShardIssueKind::kInvalidHeader, "invalid UTF-8"));
}

TEST_CASE("R12 R13 whitespace padding") {
  auto trailing = parse(safetensors_bytes("{}\r \t\n", ""));
  CHECK(trailing->loadable());
  CHECK(count(*trailing, ShardIssueKind::kHeaderPadding) == 1);
  auto leading = parse(safetensors_bytes("\t\n{}\r ", ""));
  CHECK(leading->loadable());
  CHECK(mentions(*leading, ShardIssueKind::kHeaderPadding, "starts with 2 whitespace bytes"));
  auto spaces = parse(safetensors_bytes("{}      ", ""));
  CHECK(spaces->issues().empty());
}

TEST_CASE("R14 R15 shape overflow and R17 sub-byte sizes") {
  auto overflow = parse(safetensors_bytes(
      R"({"test":{"dtype":"I32","shape":[2,18446744073709551614],"data_offsets":[0,16]}})",
      std::string(16, '\0')));
  CHECK(mentions(*overflow, ShardIssueKind::kInvalidHeader, "overflows a 64-bit element count"));
  auto bits = parse(safetensors_bytes(
      R"({"test":{"dtype":"I32","shape":[2,9223372036854775807],"data_offsets":[0,16]}})",
      std::string(16, '\0')));
  CHECK(mentions(*bits, ShardIssueKind::kInvalidHeader, "overflows a 64-bit bit count"));
  auto f4 =
      parse(safetensors_bytes(R"({"t":{"dtype":"F4","shape":[1,3],"data_offsets":[0,2]}})", "xx"));
  CHECK(mentions(*f4, ShardIssueKind::kInvalidHeader, "12 bits, not a whole number of bytes"));
  auto f4_ok =
      parse(safetensors_bytes(R"({"t":{"dtype":"F4","shape":[1,2],"data_offsets":[0,1]}})", "x"));
  CHECK(f4_ok->loadable());
  auto f6 = parse(
      safetensors_bytes(R"({"t":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[0,3]}})", "xyz"));
  CHECK(f6->loadable());
}

TEST_CASE("R16 json attack: ten tensors on one range; abuse_attempt_3 style") {
  std::string header = "{";
  for (int i = 0; i < 10; ++i) {
    header += (i ? "," : "") + std::string("\"weight_") + std::to_string(i) +
              R"(":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]})";
  }
  header += "}";
  auto s = parse(safetensors_bytes(header, std::string(16, '\0')));
  CHECK(count(*s, ShardIssueKind::kInvalidOffsets) == 9);
  // 50,000 entries on one range: reported, capped, and fast.
  std::string big = "{";
  for (int i = 0; i < 50000; ++i) {
    big += (i ? "," : "") + std::string("\"w") + std::to_string(i) +
           R"(":{"dtype":"F32","shape":[200,200],"data_offsets":[0,160000]})";
  }
  big += "}";
  auto attack = parse(safetensors_bytes(big, std::string(160000, '\0')));
  CHECK(count(*attack, ShardIssueKind::kInvalidOffsets) == 21);  // 20 named, then a count
  CHECK(mentions(*attack, ShardIssueKind::kInvalidOffsets, "and 49979 more problems"));
}

TEST_CASE("G1 E2 E3 E4 E5 vectors of other implementations") {
  auto g1 = parse(safetensors_bytes(
      R"({"test1":{"dtype":"I32","shape":[1],"data_offsets":[0, 4]},"test2":{"dtype":"I32","shape":[1],"data_offsets":[0, 4]}})",
      ""));
  CHECK(count(*g1, ShardIssueKind::kInvalidOffsets) == 1);
  CHECK(count(*g1, ShardIssueKind::kFileSizeMismatch) == 1);
  auto e3 = parse(safetensors_bytes(R"({"a":{"dtype":"I64","shape":[2],"data_offsets":[0,8]}})",
                                    std::string(8, '\0')));
  CHECK(mentions(*e3, ShardIssueKind::kInvalidOffsets, "needs 16"));
  auto e4 = parse(safetensors_bytes("{}", "", 999));
  CHECK(mentions(*e4, ShardIssueKind::kInvalidHeader, "header length 999 runs past the end"));
  auto e5 = parse(safetensors_bytes("x", ""));
  CHECK(count(*e5, ShardIssueKind::kInvalidHeader) == 1);
}

TEST_CASE("C2 C3 C6 missing fields and unknown dtypes") {
  auto missing_dtype = parse(
      safetensors_bytes(R"({"test":{"shape":[4],"data_offsets":[0,16]}})", std::string(16, '\0')));
  CHECK(mentions(*missing_dtype, ShardIssueKind::kInvalidHeader, "entry has no 'dtype'"));
  auto unknown = parse(safetensors_bytes(
      R"({"test":{"dtype":"UNKNOWN","shape":[4],"data_offsets":[0,16]}})", std::string(16, '\0')));
  CHECK(mentions(*unknown, ShardIssueKind::kInvalidHeader, "unknown dtype \"UNKNOWN\""));
  auto no_offsets = parse(safetensors_bytes(R"({"empty":{"dtype":"F32","shape":[0,10]}})", ""));
  CHECK(mentions(*no_offsets, ShardIssueKind::kInvalidHeader, "entry has no 'data_offsets'"));
  CHECK_FALSE(no_offsets->loadable());
}

TEST_CASE("C7 C8 escapes are decoded before names are compared") {
  auto s = parse(safetensors_bytes(
      R"({"__metadata__":{"format":"pt","note":"line1\nline2\ttab"},"test\u0041\u0042":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})",
      "x"));
  CHECK(s->loadable());
  CHECK(s->find("testAB") != nullptr);
  CHECK(s->metadata()->at("note") == "line1\nline2\ttab");
  auto surrogate = parse(safetensors_bytes(
      R"({"\ud83d\ude00":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", "x"));
  CHECK(surrogate->find("\xf0\x9f\x98\x80") != nullptr);
  auto lone = parse(
      safetensors_bytes(R"({"\ud83d":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", "x"));
  CHECK(mentions(*lone, ShardIssueKind::kInvalidHeader, "surrogate"));
}

TEST_CASE("metadata must be a string map; null is flagged") {
  auto number = parse(safetensors_bytes(R"({"__metadata__":{"step":1}})", ""));
  CHECK(mentions(*number, ShardIssueKind::kInvalidHeader, "__metadata__[\"step\"] is a number"));
  auto null_meta = parse(safetensors_bytes(R"({"__metadata__":null})", ""));
  CHECK(count(*null_meta, ShardIssueKind::kInvalidMetadata) == 1);
  CHECK(null_meta->loadable());
}

TEST_CASE("duplicate names, negative numbers, fractions, deep nesting, rank cap") {
  auto dup = parse(safetensors_bytes(
      R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
      "xy"));
  CHECK(count(*dup, ShardIssueKind::kDuplicateTensorName) == 1);
  CHECK(count(*dup, ShardIssueKind::kInvalidOffsets) == 0);
  auto negative =
      parse(safetensors_bytes(R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", "x"));
  CHECK(mentions(*negative, ShardIssueKind::kInvalidHeader, "negative number"));
  auto fraction =
      parse(safetensors_bytes(R"({"a":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1]}})", "x"));
  CHECK(mentions(*fraction, ShardIssueKind::kInvalidHeader, "fraction or exponent"));
  std::string deep =
      R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":)" + std::string(1000000, '[');
  auto nested = parse(safetensors_bytes(deep, "x"));
  CHECK(mentions(*nested, ShardIssueKind::kInvalidHeader, "nesting deeper than"));
  std::string rank = R"({"a":{"dtype":"U8","shape":[)";
  for (int i = 0; i < 100; ++i) rank += (i ? ",1" : "1");
  rank += R"(],"data_offsets":[0,1]}})";
  auto ranked = parse(safetensors_bytes(rank, "x"));
  CHECK(mentions(*ranked, ShardIssueKind::kInvalidHeader, "more than 64 dimensions"));
}

TEST_CASE("a Git LFS pointer is recognised") {
  auto s = parse("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 16060522496\n");
  CHECK(mentions(*s, ShardIssueKind::kLfsPointer, "16060522496-byte object"));
}

TEST_CASE("the writer matches the reference layout (R20 R21 R22)") {
  std::vector<ckd::TensorSpec> none;
  CHECK(ckd::serialize_header(nullptr, none) == std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
  std::map<std::string, std::string> meta = {{"framework", "pt"}};
  std::string with_meta = ckd::serialize_header(&meta, none);
  CHECK(with_meta.substr(8) == "{\"__metadata__\":{\"framework\":\"pt\"}}     ");
  CHECK(static_cast<unsigned char>(with_meta[0]) == 40);
  std::vector<ckd::TensorSpec> one = {{"attn.0", ckd::Dtype::kF32, {1, 2, 3}, 24}};
  std::string r21 = ckd::serialize_header(nullptr, one);
  CHECK(r21.substr(8) == R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})");
  std::vector<ckd::TensorSpec> aligned = {{"attn0", ckd::Dtype::kF32, {1, 1, 2, 3}, 24}};
  std::string r22 = ckd::serialize_header(nullptr, aligned);
  CHECK(static_cast<unsigned char>(r22[0]) == 72);
  // Widest dtypes first, then by name: every tensor naturally aligned.
  std::vector<ckd::TensorSpec> mixed = {{"b", ckd::Dtype::kU8, {3}, 3},
                                        {"a", ckd::Dtype::kF32, {1}, 4},
                                        {"c", ckd::Dtype::kBF16, {1}, 2}};
  ckd::serialize_header(nullptr, mixed);
  CHECK(mixed[0].name == "a");
  CHECK(mixed[1].name == "c");
  CHECK(mixed[2].name == "b");
}

TEST_CASE("every dtype of FORMATS.md 1.4 is known, with its size") {
  const std::pair<const char*, uint32_t> table[] = {
      {"BOOL", 8},        {"F4", 4},      {"F6_E2M3", 6}, {"F6_E3M2", 6}, {"U8", 8},
      {"I8", 8},          {"F8_E5M2", 8}, {"F8_E4M3", 8}, {"F8_E8M0", 8}, {"F8_E4M3FNUZ", 8},
      {"F8_E5M2FNUZ", 8}, {"I16", 16},    {"U16", 16},    {"F16", 16},    {"BF16", 16},
      {"I32", 32},        {"U32", 32},    {"F32", 32},    {"C64", 64},    {"F64", 64},
      {"I64", 64},        {"U64", 64}};
  for (const auto& [name, bits] : table) {
    CAPTURE(name);
    auto d = ckd::parse_dtype(name);
    REQUIRE(d.has_value());
    CHECK(ckd::dtype_bits(*d) == bits);
    CHECK(ckd::dtype_name(*d) == name);
  }
  CHECK_FALSE(ckd::parse_dtype("F8_E4M3FN").has_value());
  CHECK_FALSE(ckd::parse_dtype("bf16").has_value());
}

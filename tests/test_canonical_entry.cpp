// The canonical-entry fast path of the shard reader: it reads the writer's compact entries,
// declines everything else, and Shard::parse gives the same tables and issues with it as with
// the generic JSON path, on valid headers and on every single-byte variant of one.
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "safetensors/canonical_entry.h"
#include "shard_parse_paths.h"
#include "test_util.h"

using ckd::CanonicalEntry;
using ckd::parse_canonical_entry;

namespace {

size_t fast(const std::string& entry) {
  CanonicalEntry out;
  return parse_canonical_entry(entry, 0, out);
}

// Three compact entries as the reference writer lays them out, plus metadata.
const std::string kHeader =
    R"({"__metadata__":{"format":"pt"},"a.weight":{"dtype":"BF16","shape":[4,2],"data_offsets":[0,16]},)"
    R"("a.weight_scale_inv":{"dtype":"F32","shape":[],"data_offsets":[16,20]},)"
    R"("b":{"dtype":"F8_E4M3","shape":[3,0],"data_offsets":[20,20]}})";

}  // namespace

TEST_CASE("the fast path reads the compact entry and fills what the generic path fills") {
  std::string e = R"({"dtype":"BF16","shape":[2048,128],"data_offsets":[0,524288]})";
  CanonicalEntry out;
  REQUIRE(parse_canonical_entry(e + ",", 0, out) == e.size());
  CHECK(out.dtype == ckd::Dtype::kBF16);
  CHECK(out.shape == std::vector<uint64_t>{2048, 128});
  CHECK(out.begin == 0);
  CHECK(out.end == 524288);
  CHECK(out.numel == 2048u * 128u);
  CHECK(fast(R"({"dtype":"I32","shape":[],"data_offsets":[0,4]})") > 0);
  CHECK(fast(R"({"dtype":"U8","shape":[0],"data_offsets":[7,7]})") > 0);
  CHECK(fast(R"({"dtype":"F4","shape":[2],"data_offsets":[0,1]})") > 0);
  // Offsets at the edges of 64 bits: 19 digits, the largest 20-digit value, one past it.
  REQUIRE(parse_canonical_entry(
              R"({"dtype":"U8","shape":[0],"data_offsets":[1234567890123456789,18446744073709551615]})",
              0, out) > 0);
  CHECK(out.begin == 1234567890123456789u);
  CHECK(out.end == 18446744073709551615u);
  CHECK(fast(R"({"dtype":"U8","shape":[0],"data_offsets":[0,99999999999999999999]})") == 0);
  CHECK(fast(R"({"dtype":"U8","shape":[0],"data_offsets":[0,100000000000000000000]})") == 0);
  CHECK(fast(R"({"dtype":"U8","shape":[0],"data_offsets":[0,18446744073709551620]})") == 0);
}

TEST_CASE("the fast path declines every entry that is not canonical or not issue-free") {
  const std::vector<std::string> declined = {
      R"( {"dtype":"BF16","shape":[1],"data_offsets":[0,2]})",              // leading space
      R"({"dtype": "BF16","shape":[1],"data_offsets":[0,2]})",              // space in it
      R"({"shape":[1],"dtype":"BF16","data_offsets":[0,2]})",               // other order
      R"({"dtype":"BF16","shape":[1],"data_offsets":[0,2],"x":1})",         // extra field
      R"({"dtype":"BF16","dtype":"BF16","shape":[1],"data_offsets":[0,2]})",  // repeated
      R"({"dtype":"BF16","data_offsets":[0,2]})",                           // missing shape
      R"({"dtype":"BF17","shape":[1],"data_offsets":[0,2]})",               // unknown dtype
      R"({"dtype":"bf16","shape":[1],"data_offsets":[0,2]})",               // lower case
      R"({"dtype":"BF\u0031","shape":[1],"data_offsets":[0,2]})",           // escape
      R"({"dtype":"BF16","shape":[01],"data_offsets":[0,2]})",              // leading zero
      R"({"dtype":"BF16","shape":[1.0],"data_offsets":[0,2]})",             // fraction
      R"({"dtype":"BF16","shape":[1e0],"data_offsets":[0,2]})",             // exponent
      R"({"dtype":"BF16","shape":[-1],"data_offsets":[0,2]})",              // sign
      R"({"dtype":"BF16","shape":[1,],"data_offsets":[0,2]})",              // trailing comma
      R"({"dtype":"BF16","shape":[1],"data_offsets":[0,18446744073709551616]})",  // > 2^64-1
      R"({"dtype":"BF16","shape":[1],"data_offsets":[0]})",                 // one offset
      R"({"dtype":"BF16","shape":[1],"data_offsets":[0,2,4]})",             // three
      R"({"dtype":"BF16","shape":[4294967296,4294967296],"data_offsets":[0,2]})",  // numel overflow
      R"({"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,2]})",     // bit overflow
      R"({"dtype":"F4","shape":[3],"data_offsets":[0,2]})",                 // partial byte
      R"({"dtype":"BF16","shape":[1],"data_offsets":[0,2])",                // unterminated
      R"({"dtype":"BF16","shape":[1],"data_offsets":[0,2)",                 // cut short
      R"({"dtype":"BF16")",
      "",
  };
  for (const std::string& e : declined) {
    CAPTURE(e);
    CHECK(fast(e) == 0);
  }
  std::string rank65 = R"({"dtype":"U8","shape":[)";
  for (int i = 0; i < 65; ++i) rank65 += i ? ",1" : "1";
  CHECK(fast(rank65 + R"(],"data_offsets":[0,1]})") == 0);
  std::string rank64 = R"({"dtype":"U8","shape":[)";
  for (int i = 0; i < 64; ++i) rank64 += i ? ",1" : "1";
  CHECK(fast(rank64 + R"(],"data_offsets":[0,1]})") > 0);
}

TEST_CASE("fast and generic paths agree on every single-byte variant of a header") {
  const std::string data(20, '\x01');
  // The base header: all three entries canonical, so the fast path really runs.
  auto base = ckd_test::parse_both_ways(ckd_test::safetensors_bytes(kHeader, data));
  CHECK(base->loadable());
  REQUIRE(base->tensors().size() == 3);
  size_t accepted = 0;
  for (size_t at = kHeader.find("\"a.weight\":") + 11; at < kHeader.size();) {
    CanonicalEntry out;
    size_t n = parse_canonical_entry(kHeader, at, out);
    if (n == 0) break;
    ++accepted;
    at += n;
    at = kHeader.find("\":", at) + 2;
    if (at == 1) break;
  }
  CHECK(accepted == 3);

  // Replace, delete or insert at every byte: each variant parses the same both ways, whether
  // it stays valid, becomes a finding or stops being JSON.
  const std::string replacements = " 0129,]}[{\"\\-.eE_:xF\x80\t";
  size_t variants = 0;
  for (size_t i = 0; i < kHeader.size(); ++i) {
    std::vector<std::string> headers;
    for (char c : replacements) {
      std::string h = kHeader;
      h[i] = c;
      headers.push_back(h);
      headers.push_back(kHeader.substr(0, i) + c + kHeader.substr(i));
    }
    headers.push_back(kHeader.substr(0, i) + kHeader.substr(i + 1));
    for (const std::string& h : headers) {
      CAPTURE(h);
      ckd_test::parse_both_ways(ckd_test::safetensors_bytes(h, data));
      ++variants;
    }
  }
  CHECK(variants > 10000);
}

TEST_CASE("numbers of every length read the same eight bytes at a time as byte by byte") {
  // The fast path reads up to 16 digits a word at a time where 16 bytes remain after the
  // number's start, and byte by byte otherwise: padding after the entry moves each number
  // across that line. Expected values come from decimal arithmetic on the digit string.
  std::mt19937_64 rng(7);
  auto value_of = [](const std::string& digits) -> std::optional<uint64_t> {
    uint64_t v = 0;
    for (char c : digits) {
      if (__builtin_mul_overflow(v, 10u, &v) ||
          __builtin_add_overflow(v, static_cast<uint64_t>(c - '0'), &v))
        return std::nullopt;
    }
    return v;
  };
  size_t checked = 0;
  for (size_t length = 1; length <= 21; ++length) {
    std::vector<std::string> numbers = {std::string(length, '9'),
                                        "1" + std::string(length - 1, '0')};
    for (int i = 0; i < 20; ++i) {
      std::string d(1, static_cast<char>('1' + rng() % 9));
      while (d.size() < length) d += static_cast<char>('0' + rng() % 10);
      numbers.push_back(d);
    }
    if (length == 20) numbers.push_back("18446744073709551615");
    for (const std::string& number : numbers) {
      for (size_t padding : {0, 3, 9, 16, 40}) {
        const std::string pad(padding, ' ');
        const std::optional<uint64_t> want = value_of(number);
        CAPTURE(number);
        CAPTURE(padding);
        CanonicalEntry out;
        const std::string end = R"({"dtype":"U8","shape":[0],"data_offsets":[0,)" + number + "]}";
        const size_t n = parse_canonical_entry(end + pad, 0, out);
        CHECK((n > 0) == want.has_value());
        if (want) CHECK(out.end == *want);
        const std::string dim =
            R"({"dtype":"U8","shape":[)" + number + R"(,0],"data_offsets":[0,0]})";
        CHECK((parse_canonical_entry(dim + pad, 0, out) > 0) == want.has_value());
        if (want) CHECK(out.shape == std::vector<uint64_t>{*want, 0});
        // What follows the digits decides: any other byte declines the entry (":" and "/" are the
        // bytes either side of the digits).
        for (const char* after : {"x", ".5", "e1", " ", ":", "/"}) {
          CHECK(parse_canonical_entry(
                    R"({"dtype":"U8","shape":[0],"data_offsets":[0,)" + number + after + "]}" + pad,
                    0, out) == 0);
        }
        // A leading zero declines, at every length past one digit.
        if (length > 1) {
          CHECK(parse_canonical_entry(R"({"dtype":"U8","shape":[0],"data_offsets":[0,0)" +
                                          number.substr(1) + "]}" + pad,
                                      0, out) == 0);
        }
        ++checked;
      }
    }
  }
  CHECK(checked > 2000);
}

TEST_CASE("a JSON error inside an entry names that entry, an escaped name unescaped") {
  struct Case {
    std::string header;
    std::string tensor;  // the issue's tensor
    std::string where;   // in the message
  };
  const std::vector<Case> cases = {
      // The second entry's shape is cut short: the error lies inside "b".
      {R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1,}})",
       "b", R"((in entry "b"))"},
      // An escaped name, read by the generic path, named as it reads.
      {R"({"a\u002eb":{"dtype":"U8","shape":[1],"data_offsets":[0,1],}})", "a.b",
       R"((in entry "a.b"))"},
      // Inside __metadata__: no tensor, the entry named.
      {R"({"__metadata__":{"format":"pt",},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})",
       "", R"((in entry "__metadata__"))"},
      // Between entries: the last entry read is named (the error follows it).
      {R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]} "b":1})", "a", R"((in entry "a"))"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.header);
    auto shard = ckd_test::parse_both_ways(ckd_test::safetensors_bytes(c.header, "x"));
    CHECK_FALSE(shard->header_ok());
    REQUIRE(shard->issues().size() == 1);
    CHECK(shard->issues()[0].tensor == c.tensor);
    CHECK(shard->issues()[0].message.find(c.where) != std::string::npos);
  }
}

// The strict JSON reader used for headers and indexes.
#include <doctest/doctest.h>

#include <string>

#include "checkpoint/checkpoint.h"
#include "io/json_reader.h"

using ckd::JsonError;
using ckd::JsonReader;

namespace {

std::string read_one_string(const std::string& text) {
  JsonReader r(text);
  std::string out;
  r.read_string(out);
  r.expect_end();
  return out;
}

}  // namespace

TEST_CASE("strings: escapes, UTF-8 and the SWAR fast path") {
  CHECK(read_one_string(R"("plain ascii that is longer than eight bytes")") ==
        "plain ascii that is longer than eight bytes");
  CHECK(read_one_string(R"("a\"b\\c\/d\b\f\n\r\t")") == "a\"b\\c/d\b\f\n\r\t");
  CHECK(read_one_string(R"("\u00e9\u4e2d\ud83d\ude00")") == "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80");
  CHECK(read_one_string("\"caf\xc3\xa9 long enough to use the word loop\"") ==
        "caf\xc3\xa9 long enough to use the word loop");
  CHECK_THROWS_AS(read_one_string("\"abc\x01"
                                  "defghijkl\""),
                  JsonError);                                              // control character
  CHECK_THROWS_AS(read_one_string("\"abcdefgh\xc0\xafxyz\""), JsonError);  // overlong
  CHECK_THROWS_AS(read_one_string("\"\xed\xa0\x80\""), JsonError);         // encoded surrogate
  CHECK_THROWS_AS(read_one_string(R"("\udc00")"), JsonError);  // lone trailing surrogate
  CHECK_THROWS_AS(read_one_string(R"("\x")"), JsonError);
  CHECK_THROWS_AS(read_one_string("\"unterminated"), JsonError);
}

TEST_CASE("integers are strict u64") {
  auto read = [](const std::string& t) {
    JsonReader r(t);
    return r.read_u64();
  };
  CHECK(read("0") == 0);
  CHECK(read("18446744073709551615") == UINT64_MAX);
  CHECK_THROWS_AS(read("18446744073709551616"), JsonError);
  CHECK_THROWS_AS(read("-1"), JsonError);
  CHECK_THROWS_AS(read("1.5"), JsonError);
  CHECK_THROWS_AS(read("1e3"), JsonError);
  CHECK_THROWS_AS(read("01"), JsonError);
  CHECK_THROWS_AS(read("\"1\""), JsonError);
}

TEST_CASE("skip_value walks any JSON without recursion and enforces the depth cap") {
  JsonReader ok(R"({"a":[1,2.5e-3,-0,true,false,null,{"b":"c"}],"d":{}})");
  ok.skip_value();
  ok.expect_end();
  std::string deep(200000, '[');
  JsonReader nested(deep, 64);
  CHECK_THROWS_WITH_AS(nested.skip_value(), "nesting deeper than 64 levels", JsonError);
  JsonReader trailing("{} x");
  trailing.skip_value();
  CHECK_THROWS_AS(trailing.expect_end(), JsonError);
  for (const char* bad :
       {"{\"a\" 1}", "{\"a\":1,}", "[1 2]", "tru", "{", "[", "1.", "-", "{'a':1}"}) {
    CAPTURE(bad);
    JsonReader r(bad);
    CHECK_THROWS_AS(r.skip_value(), JsonError);
  }
}

TEST_CASE("append_json_string round-trips through the reader") {
  std::string original = std::string("quote\" backslash\\ nl\n tab\t ctl\x01 utf8 \xc3\xa9", 36);
  std::string json;
  ckd::append_json_string(json, original);
  CHECK(read_one_string(json) == original);
}

TEST_CASE("read_string_view: a view into the text, or the decoded string; the same errors") {
  std::string scratch;
  std::string_view text = "[\"plain\", \"esc\\\"aped\", \"caf\xc3\xa9\"]";
  ckd::JsonReader reader(text);
  reader.begin_array();
  REQUIRE(reader.next_element());
  std::string_view plain = reader.read_string_view(scratch);
  CHECK(plain == "plain");
  CHECK(plain.data() == text.data() + 2);  // not copied
  REQUIRE(reader.next_element());
  CHECK(reader.read_string_view(scratch) == "esc\"aped");
  REQUIRE(reader.next_element());
  std::string_view utf8 = reader.read_string_view(scratch);
  CHECK(utf8 == "caf\xc3\xa9");
  CHECK(utf8.data() > text.data());
  CHECK(utf8.data() < text.data() + text.size());
  CHECK_FALSE(reader.next_element());
  for (std::string_view bad : {std::string_view("\"\xc3(\""), std::string_view("\"a\x01\""),
                               std::string_view("\"open")}) {
    ckd::JsonReader r(bad);
    CHECK_THROWS_AS(r.read_string_view(scratch), JsonError);
  }
}

TEST_CASE("strings: every special byte at every position of the 16- and 8-byte scans") {
  // plain_run_end skips 16 bytes, then 8, then one at a time: a quote, an escape, a control
  // character or a non-ASCII byte must be seen wherever it falls, at any string length.
  std::string scratch;
  for (size_t length = 0; length < 40; ++length) {
    for (size_t at = 0; at < length; ++at) {
      CAPTURE(length);
      CAPTURE(at);
      std::string body(length, 'a');
      // An escaped quote: decoded, same length.
      std::string escaped = body;
      escaped.replace(at, 1, "\\\"");
      std::string want = body;
      want[at] = '"';
      std::string text = "\"" + escaped + "\"";
      ckd::JsonReader r(text);
      CHECK(r.read_string_view(scratch) == want);
      CHECK(r.offset() == text.size());
      // A quote ends the string there.
      std::string cut = "\"" + body.substr(0, at) + "\"" + body.substr(at);
      ckd::JsonReader c(cut);
      CHECK(c.read_string_view(scratch) == body.substr(0, at));
      // A control character is an error; two-byte UTF-8 is kept as it is.
      std::string control = "\"" + body + "\"";
      control[1 + at] = '\x01';
      ckd::JsonReader k(control);
      CHECK_THROWS_AS(k.read_string_view(scratch), JsonError);
      std::string utf8 = body;
      utf8.replace(at, 1, "\xc3\xa9");
      std::string quoted = "\"" + utf8 + "\"";
      ckd::JsonReader u(quoted);
      CHECK(u.read_string_view(scratch) == utf8);
    }
  }
}

TEST_CASE("index parsing: weight_map, total_size, duplicate keys, errors") {
  std::vector<std::string> duplicates;
  auto index = ckd::parse_index_json(
      R"({"metadata":{"total_size":1234.0,"total_parameters":7},"weight_map":{"a":"s1","b":"s2","a":"s1","c":"s1"}})",
      &duplicates);
  CHECK(index.size() == 4);
  CHECK(index.tensor(3) == "c");
  CHECK(index.shard_names.size() == 2);
  CHECK(index.shard_of(1) == "s2");
  CHECK(*index.total_size == 1234.0);
  REQUIRE(duplicates.size() == 1);
  CHECK(duplicates[0] == "a");
  // Names are views into the kept text; one that needs unescaping lives in the blob.
  auto escaped = ckd::parse_index_json(
      "{\"weight_map\":{\"plain.w\":\"s\",\"tab\\tname\":\"s\",\"caf\\u00e9.w\":\"s\","
      "\"utf8 \xc3\xa9\":\"s\\u0031\"}}",
      nullptr);
  REQUIRE(escaped.size() == 4);
  CHECK(escaped.tensor(0) == "plain.w");
  CHECK(escaped.tensor(1) == "tab\tname");
  CHECK(escaped.tensor(2) == "caf\xc3\xa9.w");  // a JSON unicode escape, decoded
  CHECK(escaped.tensor(3) == "utf8 \xc3\xa9");
  CHECK((escaped.entries[0].offset & ckd::IndexFile::kInBlob) == 0);
  CHECK((escaped.entries[1].offset & ckd::IndexFile::kInBlob) != 0);
  CHECK((escaped.entries[2].offset & ckd::IndexFile::kInBlob) != 0);
  CHECK((escaped.entries[3].offset & ckd::IndexFile::kInBlob) == 0);  // UTF-8 is kept as is
  CHECK(escaped.shard_of(3) == "s1");
  CHECK(escaped.shard_names.size() == 2);
  CHECK_THROWS_AS(ckd::parse_index_json(R"({"metadata":{}})", nullptr), JsonError);
  CHECK_THROWS_AS(ckd::parse_index_json(R"({"weight_map":{"a":1}})", nullptr), JsonError);
  CHECK_THROWS_AS(ckd::parse_index_json(R"([])", nullptr), JsonError);
}

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

namespace {

// An object of string members read member by member, `fast` trying next_plain_string_member
// first: "key=value;" per member, then "end", or "error at OFFSET: MESSAGE".
std::string read_members(const std::string& text, bool fast) {
  JsonReader r(text, 8);
  std::string out, key_scratch, value_scratch;
  try {
    r.begin_object();
    while (true) {
      std::string_view key, value;
      if (!fast || !r.next_plain_string_member(key, value)) {
        if (!r.next_key_view(key, key_scratch)) break;
        value = r.read_string_view(value_scratch);
      }
      out += std::string(key) + "=" + std::string(value) + ";";
    }
    r.expect_end();
    out += "end";
  } catch (const JsonError& e) {
    out += "error at " + std::to_string(e.offset()) + ": " + e.what();
  }
  return out;
}

}  // namespace

TEST_CASE("next_plain_string_member: the generic reading's members and errors, byte by byte") {
  const std::vector<std::string> texts = {
      R"({"a.weight": "model-00001.safetensors", "b": "model-00002.safetensors"})",
      "{\n  \"a\" :\t\"x\" ,\r\n  \"b\":\"y\"\n}",
      R"({"esc\u002eaped": "s", "plain": "t\"u"})",
      "{\"caf\xc3\xa9\": \"s\", \"n\": 1}",
      R"({})",
      R"({"a": "x",})",
      R"({"a" "x"})",
  };
  for (const std::string& text : texts) {
    CAPTURE(text);
    CHECK(read_members(text, true) == read_members(text, false));
  }
  // Every single-byte change of a weight map: the same members, or the same error at the same
  // offset, whichever reader is asked first.
  const std::string base =
      "{\"model.layers.0.mlp.down_proj.weight\": \"model-00001.safetensors\","
      " \"lm_head.weight\":\"m2\"}";
  CHECK(read_members(base, true).ends_with(";end"));
  const std::string specials = std::string("\"\\:,{}[] \t\n\x01\x7f\xc3\xff", 16) + "a0";
  for (size_t i = 0; i < base.size(); ++i) {
    for (char c : specials) {
      std::string text = base;
      text[i] = c;
      CAPTURE(i);
      CAPTURE(text);
      CHECK(read_members(text, true) == read_members(text, false));
    }
  }
}

// A strict, non-recursive JSON pull reader for the large, hostile JSON in checkpoints
// (safetensors headers, index weight maps). It validates UTF-8 inside strings, decodes escapes,
// rejects anything RFC 8259 rejects, caps nesting depth, and reports errors with a byte offset.
// Small, trusted-shape files (config.json) go through nlohmann::json instead.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ckd {

class JsonError : public std::runtime_error {
 public:
  JsonError(size_t offset, const std::string& message)
      : std::runtime_error(message), offset_(offset) {}
  size_t offset() const { return offset_; }

 private:
  size_t offset_;
};

enum class JsonType { kObject, kArray, kString, kNumber, kTrue, kFalse, kNull, kEnd, kInvalid };

const char* json_type_name(JsonType type);

class JsonReader {
 public:
  explicit JsonReader(std::string_view text, int max_depth = 64)
      : text_(text), max_depth_(max_depth) {}

  // The type of the next value, after skipping whitespace.
  JsonType peek();
  void begin_object();
  // Reads the next member key of the current object; false once its '}' is consumed.
  bool next_key(std::string& key);
  void begin_array();
  // Positions on the next element of the current array; false once its ']' is consumed.
  bool next_element();
  void read_string(std::string& out);
  // The next string: a view into the text when it holds no escape (nearly always), else its
  // decoded value in `scratch`. The same validation as read_string.
  std::string_view read_string_view(std::string& scratch);
  // next_key with the key as read_string_view gives it.
  bool next_key_view(std::string_view& key, std::string& scratch);
  // The next member when it is `"key": "value"` with both strings plain (no escape, control or
  // non-ASCII byte): an index's weight_map entry, read in one pass. Otherwise (another shape,
  // the object's end, anything malformed) it consumes nothing and returns false: the generic
  // calls then read the member, or report what is wrong where.
  bool next_plain_string_member(std::string_view& key, std::string_view& value);
  // A non-negative integer that fits in 64 bits; fractions, exponents and signs are errors.
  uint64_t read_u64();
  bool read_bool();
  void read_null();
  void skip_value();
  // Only whitespace may follow the top-level value.
  void expect_end();

  size_t offset() const { return pos_; }
  // Moves past `bytes` bytes at offset(): a complete value that the caller has validated
  // itself (Shard's canonical-entry fast path), in place of the calls that would read it.
  void skip_validated(size_t bytes) {
    pos_ += bytes;
    seen_value_ = true;
  }
  size_t leading_whitespace() const { return leading_ws_; }
  [[noreturn]] void fail(const std::string& message) const;

 private:
  // Inline: called before every token, and writers' headers have no whitespace to skip.
  void skip_ws() { pos_ = ws_end(pos_); }
  // The first offset from i that is not JSON whitespace.
  size_t ws_end(size_t i) const {
    while (i < text_.size() &&
           (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\n' || text_[i] == '\r'))
      ++i;
    return i;
  }
  // Moves past a key's separators: false at the object's end; then positioned on its string.
  bool before_key();
  void after_key();
  // The end of the run of plain characters (no quote, backslash, control or non-ASCII byte)
  // from i.
  size_t plain_run_end(size_t i) const;
  void skip_number();
  void expect_literal(std::string_view literal);
  void push_container();

  std::string_view text_;
  size_t pos_ = 0;
  size_t leading_ws_ = 0;
  bool seen_value_ = false;
  int max_depth_;
  std::vector<uint8_t> first_;  // per open container: no member/element read yet
};

}  // namespace ckd

namespace ckd {
// Appends `s` as a JSON string literal (quotes included), escaping what RFC 8259 requires.
void append_json_string(std::string& out, std::string_view s);
}  // namespace ckd

#include "io/json_reader.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <fmt/format.h>

namespace ckd {

const char* json_type_name(JsonType type) {
  switch (type) {
    case JsonType::kObject:
      return "object";
    case JsonType::kArray:
      return "array";
    case JsonType::kString:
      return "string";
    case JsonType::kNumber:
      return "number";
    case JsonType::kTrue:
    case JsonType::kFalse:
      return "boolean";
    case JsonType::kNull:
      return "null";
    case JsonType::kEnd:
      return "end of input";
    case JsonType::kInvalid:
      return "invalid token";
  }
  return "?";
}

namespace {

// Length of the UTF-8 sequence starting at s[i] if valid, else 0.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n = s.size();
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    return (i + 1 < n && (b(i + 1) & 0xC0) == 0x80) ? 2 : 0;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (i + 2 >= n) return 0;
    unsigned char c1 = b(i + 1);
    if ((c1 & 0xC0) != 0x80 || (b(i + 2) & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && c1 < 0xA0) return 0;   // overlong
    if (c == 0xED && c1 >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (i + 3 >= n) return 0;
    unsigned char c1 = b(i + 1);
    if ((c1 & 0xC0) != 0x80 || (b(i + 2) & 0xC0) != 0x80 || (b(i + 3) & 0xC0) != 0x80) return 0;
    if (c == 0xF0 && c1 < 0x90) return 0;   // overlong
    if (c == 0xF4 && c1 >= 0x90) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

void JsonReader::fail(const std::string& message) const {
  throw JsonError(pos_, message);
}

JsonType JsonReader::peek() {
  size_t before = pos_;
  skip_ws();
  if (!seen_value_) leading_ws_ = pos_ - before;
  if (pos_ >= text_.size()) return JsonType::kEnd;
  switch (text_[pos_]) {
    case '{':
      return JsonType::kObject;
    case '[':
      return JsonType::kArray;
    case '"':
      return JsonType::kString;
    case 't':
      return JsonType::kTrue;
    case 'f':
      return JsonType::kFalse;
    case 'n':
      return JsonType::kNull;
    default: {
      char c = text_[pos_];
      if (c == '-' || (c >= '0' && c <= '9')) return JsonType::kNumber;
      return JsonType::kInvalid;
    }
  }
}

void JsonReader::push_container() {
  if (static_cast<int>(first_.size()) >= max_depth_) {
    fail(fmt::format("nesting deeper than {} levels", max_depth_));
  }
  first_.push_back(1);
  seen_value_ = true;
  ++pos_;
}

void JsonReader::begin_object() {
  if (peek() != JsonType::kObject) {
    fail(fmt::format("expected an object, found {}", json_type_name(peek())));
  }
  push_container();
}

void JsonReader::begin_array() {
  if (peek() != JsonType::kArray) {
    fail(fmt::format("expected an array, found {}", json_type_name(peek())));
  }
  push_container();
}

bool JsonReader::before_key() {
  skip_ws();
  if (pos_ >= text_.size()) fail("unexpected end of input inside an object");
  if (text_[pos_] == '}') {
    ++pos_;
    first_.pop_back();
    return false;
  }
  if (!first_.back()) {
    if (text_[pos_] != ',') fail("expected ',' or '}' in an object");
    ++pos_;
    skip_ws();
  }
  first_.back() = 0;
  if (pos_ >= text_.size() || text_[pos_] != '"') fail("expected a string key");
  return true;
}

void JsonReader::after_key() {
  skip_ws();
  if (pos_ >= text_.size() || text_[pos_] != ':') fail("expected ':' after an object key");
  ++pos_;
}

bool JsonReader::next_key(std::string& key) {
  if (!before_key()) return false;
  read_string(key);
  after_key();
  return true;
}

bool JsonReader::next_key_view(std::string_view& key, std::string& scratch) {
  if (!before_key()) return false;
  key = read_string_view(scratch);
  after_key();
  return true;
}

bool JsonReader::next_plain_string_member(std::string_view& key, std::string_view& value) {
  const size_t n = text_.size();
  if (first_.empty()) return false;  // not inside a container
  size_t i = ws_end(pos_);
  if (!first_.back()) {
    if (i >= n || text_[i] != ',') return false;
    i = ws_end(i + 1);
  }
  if (i >= n || text_[i] != '"') return false;
  const size_t key_end = plain_run_end(i + 1);
  if (key_end >= n || text_[key_end] != '"') return false;
  size_t j = ws_end(key_end + 1);
  if (j >= n || text_[j] != ':') return false;
  j = ws_end(j + 1);
  if (j >= n || text_[j] != '"') return false;
  const size_t value_end = plain_run_end(j + 1);
  if (value_end >= n || text_[value_end] != '"') return false;
  key = text_.substr(i + 1, key_end - i - 1);
  value = text_.substr(j + 1, value_end - j - 1);
  first_.back() = 0;
  pos_ = value_end + 1;
  seen_value_ = true;
  return true;
}

std::string_view JsonReader::read_string_view(std::string& scratch) {
  if (peek() != JsonType::kString) {
    fail(fmt::format("expected a string, found {}", json_type_name(peek())));
  }
  const size_t start = pos_ + 1;
  size_t i = start;
  while (true) {
    i = plain_run_end(i);
    if (i >= text_.size()) break;
    const auto c = static_cast<unsigned char>(text_[i]);
    if (c == '"') {
      seen_value_ = true;
      pos_ = i + 1;
      return text_.substr(start, i - start);
    }
    if (c < 0x80) break;  // an escape or a control character
    const size_t len = utf8_sequence_length(text_, i);
    if (len == 0) break;
    i += len;  // valid UTF-8 is kept as it is
  }
  read_string(scratch);  // decodes from the start, and reports what is wrong where
  return scratch;
}

bool JsonReader::next_element() {
  skip_ws();
  if (pos_ >= text_.size()) fail("unexpected end of input inside an array");
  if (text_[pos_] == ']') {
    ++pos_;
    first_.pop_back();
    return false;
  }
  if (!first_.back()) {
    if (text_[pos_] != ',') fail("expected ',' or ']' in an array");
    ++pos_;
  }
  first_.back() = 0;
  return true;
}

size_t JsonReader::plain_run_end(size_t i) const {
  const size_t n = text_.size();
#if defined(__SSE2__)
  // 16 bytes per step (SSE2 is in every x86-64), the first special byte found by its bit: as
  // signed bytes, control characters and non-ASCII are exactly those below 0x20.
  const __m128i quotes = _mm_set1_epi8('"'), backslashes = _mm_set1_epi8('\\');
  const __m128i spaces = _mm_set1_epi8(0x20);
  while (i + 16 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text_.data() + i));
    const __m128i special = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, quotes), _mm_cmpeq_epi8(v, backslashes)),
        _mm_cmplt_epi8(v, spaces));
    if (const int mask = _mm_movemask_epi8(special))
      return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    i += 16;
  }
#endif
  // 8 bytes per step while no byte is '"', '\\', a control character or non-ASCII.
  while (i + 8 <= n) {
    uint64_t w;
    std::memcpy(&w, text_.data() + i, 8);
    constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
    uint64_t quote = w ^ (kOnes * '"'), backslash = w ^ (kOnes * '\\');
    uint64_t special =
        ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) | (w - kOnes * 0x20) | w;
    if (special & kHigh) break;
    i += 8;
  }
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(text_[i]);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
    ++i;
  }
  return i;
}

void JsonReader::read_string(std::string& out) {
  if (peek() != JsonType::kString) {
    fail(fmt::format("expected a string, found {}", json_type_name(peek())));
  }
  seen_value_ = true;
  out.clear();
  size_t i = pos_ + 1;
  const size_t n = text_.size();
  while (true) {
    // Fast path: copy the run of plain ASCII characters in one go.
    const size_t run = plain_run_end(i);
    out.append(text_.data() + i, run - i);
    i = run;
    if (i >= n) {
      pos_ = i;
      fail("unterminated string");
    }
    unsigned char c = static_cast<unsigned char>(text_[i]);
    if (c == '"') {
      pos_ = i + 1;
      return;
    }
    if (c < 0x20) {
      pos_ = i;
      fail(fmt::format("control character 0x{:02x} inside a string", c));
    }
    if (c >= 0x80) {
      size_t len = utf8_sequence_length(text_, i);
      if (len == 0) {
        pos_ = i;
        fail(fmt::format("invalid UTF-8 byte 0x{:02x} inside a string", c));
      }
      out.append(text_.data() + i, len);
      i += len;
      continue;
    }
    // Escape sequence.
    if (i + 1 >= n) {
      pos_ = i;
      fail("unterminated escape");
    }
    char e = text_[i + 1];
    i += 2;
    switch (e) {
      case '"':
        out.push_back('"');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case '/':
        out.push_back('/');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'u': {
        auto hex4 = [&](size_t at) -> uint32_t {
          if (at + 4 > n) {
            pos_ = at;
            fail("truncated \\u escape");
          }
          uint32_t v = 0;
          for (size_t k = 0; k < 4; ++k) {
            char h = text_[at + k];
            v <<= 4;
            if (h >= '0' && h <= '9')
              v |= static_cast<uint32_t>(h - '0');
            else if (h >= 'a' && h <= 'f')
              v |= static_cast<uint32_t>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F')
              v |= static_cast<uint32_t>(h - 'A' + 10);
            else {
              pos_ = at + k;
              fail("invalid hex digit in \\u escape");
            }
          }
          return v;
        };
        uint32_t cp = hex4(i);
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (i + 6 > n || text_[i] != '\\' || text_[i + 1] != 'u') {
            pos_ = i;
            fail("lone leading surrogate in \\u escape");
          }
          uint32_t lo = hex4(i + 2);
          if (lo < 0xDC00 || lo > 0xDFFF) {
            pos_ = i;
            fail("invalid trailing surrogate in \\u escape");
          }
          i += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          pos_ = i;
          fail("lone trailing surrogate in \\u escape");
        }
        append_utf8(out, cp);
        break;
      }
      default:
        pos_ = i - 1;
        fail(fmt::format("invalid escape '\\{}'", e));
    }
  }
}

uint64_t JsonReader::read_u64() {
  JsonType t = peek();
  if (t != JsonType::kNumber) fail(fmt::format("expected an integer, found {}", json_type_name(t)));
  seen_value_ = true;
  size_t start = pos_;
  if (text_[pos_] == '-') fail("negative number where an unsigned integer is required");
  uint64_t value = 0;
  const size_t n = text_.size();
  if (text_[pos_] == '0' && pos_ + 1 < n && text_[pos_ + 1] >= '0' && text_[pos_ + 1] <= '9') {
    fail("leading zero in a number");
  }
  while (pos_ < n && text_[pos_] >= '0' && text_[pos_] <= '9') {
    uint64_t digit = static_cast<uint64_t>(text_[pos_] - '0');
    if (value > (UINT64_MAX - digit) / 10) {
      pos_ = start;
      fail("integer does not fit in 64 bits");
    }
    value = value * 10 + digit;
    ++pos_;
  }
  if (pos_ < n && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E')) {
    pos_ = start;
    fail("number with a fraction or exponent where an integer is required");
  }
  return value;
}

void JsonReader::skip_number() {
  const size_t n = text_.size();
  auto digits = [&] {
    size_t s = pos_;
    while (pos_ < n && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    return pos_ - s;
  };
  if (text_[pos_] == '-') ++pos_;
  if (pos_ < n && text_[pos_] == '0') {
    ++pos_;
  } else if (digits() == 0) {
    fail("invalid number");
  }
  if (pos_ < n && text_[pos_] == '.') {
    ++pos_;
    if (digits() == 0) fail("invalid number: no digits after '.'");
  }
  if (pos_ < n && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
    ++pos_;
    if (pos_ < n && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
    if (digits() == 0) fail("invalid number: no digits in exponent");
  }
}

void JsonReader::expect_literal(std::string_view literal) {
  if (text_.substr(pos_, literal.size()) != literal) fail("invalid literal");
  pos_ += literal.size();
  seen_value_ = true;
}

bool JsonReader::read_bool() {
  JsonType t = peek();
  if (t == JsonType::kTrue) {
    expect_literal("true");
    return true;
  }
  if (t == JsonType::kFalse) {
    expect_literal("false");
    return false;
  }
  fail(fmt::format("expected a boolean, found {}", json_type_name(t)));
}

void JsonReader::read_null() {
  if (peek() != JsonType::kNull)
    fail(fmt::format("expected null, found {}", json_type_name(peek())));
  expect_literal("null");
}

void JsonReader::skip_value() {
  // Iterative so that hostile nesting cannot exhaust the stack; begin_* enforces the depth cap.
  std::vector<uint8_t> stack;  // 1 = object, 0 = array
  std::string scratch;
  do {
    switch (peek()) {
      case JsonType::kObject:
        begin_object();
        stack.push_back(1);
        break;
      case JsonType::kArray:
        begin_array();
        stack.push_back(0);
        break;
      case JsonType::kString:
        read_string(scratch);
        break;
      case JsonType::kNumber:
        seen_value_ = true;
        skip_number();
        break;
      case JsonType::kTrue:
        expect_literal("true");
        break;
      case JsonType::kFalse:
        expect_literal("false");
        break;
      case JsonType::kNull:
        expect_literal("null");
        break;
      case JsonType::kEnd:
        fail("unexpected end of input");
      case JsonType::kInvalid:
        fail(fmt::format("unexpected character 0x{:02x}", static_cast<unsigned char>(text_[pos_])));
    }
    while (!stack.empty()) {
      bool more = stack.back() ? next_key(scratch) : next_element();
      if (more) break;
      stack.pop_back();
    }
  } while (!stack.empty());
}

void JsonReader::expect_end() {
  skip_ws();
  if (pos_ < text_.size()) {
    fail(fmt::format("unexpected byte 0x{:02x} after the end of the JSON value",
                     static_cast<unsigned char>(text_[pos_])));
  }
}

}  // namespace ckd

namespace ckd {

void append_json_string(std::string& out, std::string_view s) {
  static const char* const kHex = "0123456789abcdef";
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

}  // namespace ckd

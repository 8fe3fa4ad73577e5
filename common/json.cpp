// JSON DOM: an RFC 8259 parser with byte-offset errors and a round-trippable serializer.
//
// Choices (documented here because callers depend on them):
// - Duplicate object keys: the last value wins, kept at the position of the first occurrence
//   (the same rule as Value::set), so a manifest cannot carry two conflicting answers.
// - Numbers are doubles; from_chars is correctly rounded, so integers up to 2^53 are exact.
//   A literal beyond the double range is an error; one below the smallest subnormal reads as 0.
// - \uXXXX escapes are decoded to UTF-8, surrogate pairs combined; a lone surrogate is an error
//   (it has no UTF-8 form). Raw bytes in strings must be valid UTF-8. A leading BOM is skipped.
// - Nesting is limited to kMaxDepth so hostile input cannot exhaust the stack.
#include "common/json.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "common/error.h"
#include "common/utf8.h"

namespace kq::json {

namespace {

constexpr int kMaxDepth = 256;
constexpr double kTwo53 = 9007199254740992.0;
constexpr std::string_view kHexDigits = "0123456789abcdef";
// Escapes after a backslash and the characters they stand for, index for index.
constexpr std::string_view kEscapeChars = "\"\\/bfnrt";
constexpr std::string_view kEscapeValues = "\"\\/\b\f\n\r\t";

const char* kind_name(Value::Kind k) {
  static constexpr const char* kNames[] = {"null", "bool", "number", "string", "array", "object"};
  return kNames[static_cast<int>(k)];
}

[[noreturn]] void wrong_kind(Value::Kind have, const char* want) {
  throw Error(std::string("json: expected ") + want + ", have " + kind_name(have));
}

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Value run() {
    // RFC 8259 §8.1: a parser may ignore a leading byte order mark.
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
    skip_ws();
    Value v = value(0);
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { fail_at(what, pos_); }
  [[noreturn]] void fail_at(const std::string& what, size_t at) const {
    throw Error("json: " + what + " at byte " + std::to_string(at));
  }

  bool eof() const { return pos_ >= s_.size(); }
  char peek() const { return eof() ? '\0' : s_[pos_]; }
  // Consumes c when it is next.
  bool eat(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }

  void skip_ws() {
    while (!eof()) {
      const char c = s_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  // Consumes `word` and returns v, the value it spells.
  Value literal(std::string_view word, Value v) {
    if (s_.substr(pos_, word.size()) != word) fail("invalid literal");
    pos_ += word.size();
    return v;
  }

  Value value(int depth) {
    if (eof()) fail("unexpected end of input");
    const char c = s_[pos_];
    if (c == '{') return object(depth + 1);
    if (c == '[') return array(depth + 1);
    if (c == '"') return Value(string());
    if (c == '-' || (c >= '0' && c <= '9')) return Value(number());
    if (c == 't') return literal("true", Value(true));
    if (c == 'f') return literal("false", Value(false));
    if (c == 'n') return literal("null", Value());
    fail("unexpected character");
  }

  Value object(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth));
    ++pos_;  // '{'
    Value obj = Value::object();
    skip_ws();
    if (eat('}')) return obj;
    // Value::set scans linearly; a hash index keeps a hostile 100k-key object from going
    // quadratic. The members are moved into obj at the end.
    std::vector<std::pair<std::string, Value>> members;
    std::unordered_map<std::string, size_t> index;
    for (;;) {
      skip_ws();
      if (peek() != '"') fail("expected string key");
      std::string key = string();
      skip_ws();
      if (!eat(':')) fail("expected ':'");
      skip_ws();
      Value v = value(depth);
      const auto [it, fresh] = index.try_emplace(key, members.size());
      if (fresh)
        members.emplace_back(std::move(key), std::move(v));
      else
        members[it->second].second = std::move(v);  // duplicate key: last wins
      skip_ws();
      if (eat(',')) continue;
      if (eat('}')) break;
      fail("expected ',' or '}'");
    }
    // obj is a non-const object we own, so writing through members() is well defined.
    const_cast<std::vector<std::pair<std::string, Value>>&>(obj.members()) = std::move(members);
    return obj;
  }

  Value array(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth));
    ++pos_;  // '['
    Value arr = Value::array();
    skip_ws();
    if (eat(']')) return arr;
    for (;;) {
      skip_ws();
      arr.push_back(value(depth));
      skip_ws();
      if (eat(',')) continue;
      if (eat(']')) return arr;
      fail("expected ',' or ']'");
    }
  }

  uint32_t hex4() {
    if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const auto h = kHexDigits.find(static_cast<char>(std::tolower(static_cast<unsigned char>(s_[pos_]))));
      if (h == std::string_view::npos) fail("invalid hex digit in \\u escape");
      v = (v << 4) | static_cast<uint32_t>(h);
      ++pos_;
    }
    return v;
  }

  // Copies one raw UTF-8 sequence starting at pos_, rejecting overlongs, surrogates, > U+10FFFF.
  void raw_utf8(std::string& out) {
    const auto b0 = static_cast<unsigned char>(s_[pos_]);
    // The lead byte's count of leading ones is the sequence length (0 means ASCII).
    const int ones = std::countl_one(b0);
    if (ones == 1 || ones > 4) fail("invalid UTF-8");
    const int len = ones == 0 ? 1 : ones;
    uint32_t cp = ones == 0 ? b0 : b0 & (0x7Fu >> len);
    if (pos_ + static_cast<size_t>(len) > s_.size()) fail("truncated UTF-8");
    for (int i = 1; i < len; ++i) {
      const auto b = static_cast<unsigned char>(s_[pos_ + static_cast<size_t>(i)]);
      if ((b & 0xC0) != 0x80) fail("invalid UTF-8");
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail("invalid UTF-8");
    out.append(s_.data() + pos_, static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
  }

  std::string string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (eof()) fail("unterminated string");
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        raw_utf8(out);
        continue;
      }
      const size_t esc_at = pos_;
      ++pos_;
      if (eof()) fail("unterminated string");
      const char e = s_[pos_++];
      if (const auto k = kEscapeChars.find(e); k != std::string_view::npos) {
        out += kEscapeValues[k];
        continue;
      }
      if (e != 'u') fail_at("invalid escape", esc_at);
      {
        uint32_t cp = hex4();
        if (cp >= 0xDC00 && cp <= 0xDFFF) fail_at("lone low surrogate", esc_at);
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (s_.substr(pos_, 2) != "\\u") fail_at("lone high surrogate", esc_at);
          pos_ += 2;
          const uint32_t lo = hex4();
          if (lo < 0xDC00 || lo > 0xDFFF) fail_at("lone high surrogate", esc_at);
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        utf8_encode(out, cp);
      }
    }
  }

  double number() {
    const size_t start = pos_;
    auto digits = [&] {
      const size_t from = pos_;
      while (!eof() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - from;
    };
    if (peek() == '-') ++pos_;
    // RFC grammar: int = "0" / digit1-9 *DIGIT, so "01" is not a number.
    if (peek() == '0') {
      ++pos_;
      if (peek() >= '0' && peek() <= '9') fail("leading zero in number");
    } else if (digits() == 0) {
      fail("expected digit");
    }
    if (peek() == '.') {
      ++pos_;
      if (digits() == 0) fail("expected digit after '.'");
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (digits() == 0) fail("expected digit in exponent");
    }
    double v = 0;
    const char* first = s_.data() + start;
    const char* last = s_.data() + pos_;
    const auto [ptr, ec] = std::from_chars(first, last, v);
    if (ec == std::errc::result_out_of_range) {
      // from_chars reports both overflow and total underflow; only overflow is an error.
      if (decimal_exponent(std::string_view(first, size_t(last - first))) > 0) fail_at("number out of range", start);
      return *first == '-' ? -0.0 : 0.0;
    }
    if (ec != std::errc() || ptr != last) fail_at("invalid number", start);
    return v;
  }

  // Returns the decimal exponent of the leading nonzero digit of a (nonzero) number literal:
  // positive when from_chars overflowed, negative when it underflowed.
  static long decimal_exponent(std::string_view num) {
    const size_t e = std::min(num.find_first_of("eE"), num.size());
    const size_t point = std::min(num.substr(0, e).find('.'), e);
    const size_t lead = num.find_first_of("123456789");
    long exp = 0;
    if (e < num.size()) {
      const char* from = num.data() + e + 1 + (num[e + 1] == '+' ? 1 : 0);  // from_chars rejects '+'
      if (std::from_chars(from, num.data() + num.size(), exp).ec != std::errc())
        exp = num[e + 1] == '-' ? -1000000 : 1000000;  // an exponent beyond long is beyond double
    }
    return exp + (lead < point ? long(point - lead) - 1 : -long(lead - point));
  }

  std::string_view s_;
  size_t pos_ = 0;
};

void dump_string(std::string& out, const std::string& s) {
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (const auto k = kEscapeValues.find(ch); k != std::string_view::npos && ch != '/') {
      out += '\\';
      out += kEscapeChars[k];
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;  // UTF-8 passes through unchanged
    }
  }
  out += '"';
}

void dump_number(std::string& out, double d) {
  // JSON has no inf/NaN; null is the conventional stand-in.
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[64];
  std::to_chars_result r;
  if (d == std::floor(d) && std::fabs(d) <= kTwo53) {
    // Exact integers print as integers ("3", not "3.0" or "3e+00"); keep the sign of -0.
    if (d == 0 && std::signbit(d)) {
      out += "-0";
      return;
    }
    r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(d));
  } else {
    r = std::to_chars(buf, buf + sizeof buf, d);  // shortest repr that reads back exactly
  }
  out.append(buf, r.ptr);
}

void newline(std::string& out, int indent, int level) {
  out += '\n';
  out.append(static_cast<size_t>(indent) * static_cast<size_t>(level), ' ');
}

void dump_value(std::string& out, const Value& v, int indent, int level) {
  switch (v.kind()) {
    case Value::Kind::Null:
      out += "null";
      return;
    case Value::Kind::Bool:
      out += v.as_bool() ? "true" : "false";
      return;
    case Value::Kind::Number:
      dump_number(out, v.as_number());
      return;
    case Value::Kind::String:
      dump_string(out, v.as_string());
      return;
    case Value::Kind::Array: {
      const auto& items = v.items();
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        if (indent >= 0) newline(out, indent, level + 1);
        dump_value(out, items[i], indent, level + 1);
      }
      if (indent >= 0 && !items.empty()) newline(out, indent, level);
      out += ']';
      return;
    }
    case Value::Kind::Object: {
      const auto& members = v.members();
      out += '{';
      for (size_t i = 0; i < members.size(); ++i) {
        if (i) out += ',';
        if (indent >= 0) newline(out, indent, level + 1);
        dump_string(out, members[i].first);
        out += indent >= 0 ? ": " : ":";
        dump_value(out, members[i].second, indent, level + 1);
      }
      if (indent >= 0 && !members.empty()) newline(out, indent, level);
      out += '}';
      return;
    }
  }
}

}  // namespace

Value::Value(bool b) : kind_(Kind::Bool), b_(b) {}
Value::Value(double d) : kind_(Kind::Number), num_(d) {}
Value::Value(const char* s) : kind_(Kind::String), str_(s ? s : "") {}
Value::Value(std::string s) : kind_(Kind::String), str_(std::move(s)) {}

Value Value::array() {
  Value v;
  v.kind_ = Kind::Array;
  return v;
}

Value Value::object() {
  Value v;
  v.kind_ = Kind::Object;
  return v;
}

bool Value::as_bool() const {
  if (kind_ != Kind::Bool) wrong_kind(kind_, "bool");
  return b_;
}

double Value::as_number() const {
  if (kind_ != Kind::Number) wrong_kind(kind_, "number");
  return num_;
}

int64_t Value::as_int() const {
  if (kind_ != Kind::Number) wrong_kind(kind_, "number");
  // [-2^63, 2^63) is exactly the doubles that convert to int64 without overflow.
  if (!(num_ >= -9223372036854775808.0 && num_ < 9223372036854775808.0) || num_ != std::floor(num_)) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, num_);
    throw Error("json: expected integer, have " + std::string(buf, r.ptr));
  }
  return static_cast<int64_t>(num_);
}

const std::string& Value::as_string() const {
  if (kind_ != Kind::String) wrong_kind(kind_, "string");
  return str_;
}

const std::vector<Value>& Value::items() const {
  if (kind_ != Kind::Array) wrong_kind(kind_, "array");
  return arr_;
}

const std::vector<std::pair<std::string, Value>>& Value::members() const {
  if (kind_ != Kind::Object) wrong_kind(kind_, "object");
  return obj_;
}

const Value* Value::find(std::string_view key) const {
  for (const auto& [k, v] : members())
    if (k == key) return &v;
  return nullptr;
}

const Value& Value::at(std::string_view key) const {
  const Value* v = find(key);
  if (!v) throw Error("json: missing key \"" + std::string(key) + "\"");
  return *v;
}

const Value& Value::operator[](size_t i) const {
  const auto& a = items();
  if (i >= a.size())
    throw Error("json: index " + std::to_string(i) + " out of range (size " + std::to_string(a.size()) + ")");
  return a[i];
}

size_t Value::size() const {
  if (kind_ == Kind::Array) return arr_.size();
  if (kind_ == Kind::Object) return obj_.size();
  wrong_kind(kind_, "array or object");
}

Value& Value::push_back(Value v) {
  if (kind_ != Kind::Array) wrong_kind(kind_, "array");
  arr_.push_back(std::move(v));
  return arr_.back();
}

Value& Value::set(const std::string& key, Value v) {
  if (kind_ != Kind::Object) wrong_kind(kind_, "object");
  for (auto& [k, old] : obj_) {
    if (k == key) {
      old = std::move(v);
      return old;
    }
  }
  obj_.emplace_back(key, std::move(v));
  return obj_.back().second;
}

Value parse(std::string_view text) {
  return Parser(text).run();
}

std::string dump(const Value& v, int indent) {
  std::string out;
  dump_value(out, v, indent, 0);
  return out;
}

}  // namespace kq::json

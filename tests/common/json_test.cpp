// Tests for common/json: valid documents, every escape, nesting, error offsets, dump round trips.
#include "common/json.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "common/error.h"

using kq::json::dump;
using kq::json::parse;
using kq::json::Value;

namespace {

// The message of the kq::Error a parse throws, or "" when it parses.
std::string parse_error(std::string_view text) {
  try {
    parse(text);
  } catch (const kq::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("json: scalars", "[json]") {
  REQUIRE(parse("null").is_null());
  REQUIRE(parse("true").as_bool());
  REQUIRE_FALSE(parse(" false ").as_bool());
  REQUIRE(parse("0").as_number() == 0.0);
  REQUIRE(std::signbit(parse("-0").as_number()));
  REQUIRE(parse("-12.5e1").as_number() == -125.0);
  REQUIRE(parse("1E+2").as_number() == 100.0);
  REQUIRE(parse("2.5e-3").as_number() == 0.0025);
  REQUIRE(parse("\"hi\"").as_string() == "hi");
  // Integers stay exact up to 2^53, and as_int reads them back.
  REQUIRE(parse("9007199254740992").as_int() == 9007199254740992LL);
  REQUIRE(parse("-9007199254740991").as_int() == -9007199254740991LL);
  REQUIRE(parse("1e3").as_int() == 1000);
  REQUIRE_THROWS_AS(parse("1.5").as_int(), kq::Error);
  REQUIRE_THROWS_AS(parse("1e19").as_int(), kq::Error);
  // Correct rounding: the shortest repr of 0.1 reads back as the same double.
  REQUIRE(parse("0.1").as_number() == 0.1);
  REQUIRE(parse("1.7976931348623157e308").as_number() == std::numeric_limits<double>::max());
  REQUIRE(parse("4.9406564584124654e-324").as_number() == std::numeric_limits<double>::denorm_min());
  REQUIRE(parse("1e-400").as_number() == 0.0);  // total underflow reads as zero
  REQUIRE(std::signbit(parse("-1e-400").as_number()));
  REQUIRE(parse("[]").size() == 0);
  REQUIRE(parse("{}").size() == 0);
  REQUIRE(parse("\xEF\xBB\xBF{}").is_object());  // leading BOM skipped
}

TEST_CASE("json: every escape and UTF-8", "[json]") {
  REQUIRE(parse(R"("\"\\\/\b\f\n\r\t")").as_string() == "\"\\/\b\f\n\r\t");
  REQUIRE(parse(R"("\u0041\u00e9\u20AC")").as_string() == "A\xC3\xA9\xE2\x82\xAC");
  REQUIRE(parse(R"("\u0000")").as_string() == std::string(1, '\0'));
  // Surrogate pair: U+1F600 -> F0 9F 98 80.
  REQUIRE(parse(R"("\ud83d\ude00")").as_string() == "\xF0\x9F\x98\x80");
  REQUIRE(parse(R"("\uDBFF\uDFFF")").as_string() == "\xF4\x8F\xBF\xBF");  // U+10FFFF
  // Raw UTF-8 passes through.
  REQUIRE(parse("\"caf\xC3\xA9 \xF0\x9F\x98\x80\"").as_string() == "caf\xC3\xA9 \xF0\x9F\x98\x80");
}

TEST_CASE("json: objects keep order, duplicates take the last value", "[json]") {
  const Value v = parse(R"({"b": 1, "a": [true, null, "x"], "c": {"d": {}}, "b": 2})");
  REQUIRE(v.is_object());
  REQUIRE(v.size() == 3);
  REQUIRE(v.members()[0].first == "b");
  REQUIRE(v.members()[1].first == "a");
  REQUIRE(v.members()[2].first == "c");
  REQUIRE(v.at("b").as_int() == 2);  // last wins, first position kept
  REQUIRE(v.at("a")[0].as_bool());
  REQUIRE(v.at("a")[1].is_null());
  REQUIRE(v.at("a")[2].as_string() == "x");
  REQUIRE(v.at("c").at("d").is_object());
  REQUIRE(v.find("zz") == nullptr);
  REQUIRE_THROWS_WITH(v.at("zz"), Catch::Contains("zz"));
  REQUIRE_THROWS_AS(v.at("a")[3], kq::Error);
  REQUIRE_THROWS_AS(v.as_string(), kq::Error);
  REQUIRE_THROWS_AS(v.at("a").members(), kq::Error);
  REQUIRE_THROWS_AS(v.at("b").size(), kq::Error);
}

TEST_CASE("json: nesting up to the depth limit", "[json]") {
  const int ok = 256;
  std::string deep = std::string(ok, '[') + std::string(ok, ']');
  REQUIRE_NOTHROW(parse(deep));
  // One level more is refused, at the byte of the bracket that goes too deep.
  std::string too_deep = std::string(ok + 1, '[') + std::string(ok + 1, ']');
  REQUIRE(parse_error(too_deep) == "json: nesting deeper than 256 at byte 256");
  // A hostile megabyte of '{"a":' must fail cleanly, not overflow the stack.
  std::string hostile;
  for (int i = 0; i < 200000; ++i) hostile += "{\"a\":";
  REQUIRE_THROWS_AS(parse(hostile), kq::Error);
  REQUIRE_THROWS_AS(parse(std::string(1000000, '[')), kq::Error);
}

TEST_CASE("json: a huge object parses in linear time", "[json]") {
  // 200k keys: a quadratic duplicate check would take minutes; the parser's hash index does not.
  std::string doc = "{";
  for (int i = 0; i < 200000; ++i) doc += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  doc += ",\"k7\":-1}";  // a late duplicate replaces the early value in place
  const Value v = parse(doc);
  REQUIRE(v.size() == 200000);
  REQUIRE(v.members()[7].first == "k7");
  REQUIRE(v.members()[7].second.as_int() == -1);
  REQUIRE(v.at("k199999").as_int() == 199999);
}

TEST_CASE("json: errors name the byte offset", "[json]") {
  REQUIRE(parse_error(R"({"a": 1, "b": 2 "c"})") == "json: expected ',' or '}' at byte 16");
  REQUIRE(parse_error("[1 2]") == "json: expected ',' or ']' at byte 3");
  REQUIRE(parse_error("") == "json: unexpected end of input at byte 0");
  REQUIRE(parse_error("  ") == "json: unexpected end of input at byte 2");
  REQUIRE(parse_error("{\"a\" 1}") == "json: expected ':' at byte 5");
  REQUIRE(parse_error("{1:2}") == "json: expected string key at byte 1");
  REQUIRE(parse_error("{\"a\":1,}") == "json: expected string key at byte 7");
  REQUIRE(parse_error("[1,]") == "json: unexpected character at byte 3");
  REQUIRE(parse_error("tru") == "json: invalid literal at byte 0");
  REQUIRE(parse_error("nulll") == "json: unexpected trailing characters at byte 4");
  REQUIRE(parse_error("01") == "json: leading zero in number at byte 1");
  REQUIRE(parse_error("-") == "json: expected digit at byte 1");
  REQUIRE(parse_error("1.") == "json: expected digit after '.' at byte 2");
  REQUIRE(parse_error("1e+") == "json: expected digit in exponent at byte 3");
  REQUIRE(parse_error(".5") == "json: unexpected character at byte 0");
  REQUIRE(parse_error("+1") == "json: unexpected character at byte 0");
  REQUIRE(parse_error("1e400") == "json: number out of range at byte 0");
  REQUIRE(parse_error("[1000e306]") == "json: number out of range at byte 1");
  REQUIRE(parse_error("1e99999999999999999999") == "json: number out of range at byte 0");
  REQUIRE(parse("1e-99999999999999999999").as_number() == 0.0);
  REQUIRE(parse("123456e-330").as_number() == 0.0);  // 1.2e-325: below the smallest subnormal
  REQUIRE(parse("0.00001e310").as_number() == 1e305);
  REQUIRE(parse_error("[\"abc") == "json: unterminated string at byte 5");
  REQUIRE(parse_error("\"a\nb\"") == "json: control character in string at byte 2");
  REQUIRE(parse_error(R"("\x")") == "json: invalid escape at byte 1");
  REQUIRE(parse_error(R"("\u12G4")") == "json: invalid hex digit in \\u escape at byte 5");
  REQUIRE(parse_error(R"("\u12")") == "json: truncated \\u escape at byte 3");
  REQUIRE(parse_error(R"( "\ud83d")") == "json: lone high surrogate at byte 2");
  REQUIRE(parse_error(R"("\ud83d\u0041")") == "json: lone high surrogate at byte 1");
  REQUIRE(parse_error(R"("\ude00")") == "json: lone low surrogate at byte 1");
  REQUIRE(parse_error("\"\xC3\"") == "json: invalid UTF-8 at byte 1");          // truncated sequence
  REQUIRE(parse_error("\"\xC0\x80\"") == "json: invalid UTF-8 at byte 1");      // overlong NUL
  REQUIRE(parse_error("\"\xED\xA0\x80\"") == "json: invalid UTF-8 at byte 1");  // surrogate
  REQUIRE(parse_error("\"\xFF\"") == "json: invalid UTF-8 at byte 1");
  REQUIRE(parse_error(std::string("[1]\0", 4)) == "json: unexpected trailing characters at byte 3");
}

TEST_CASE("json: dump formats", "[json]") {
  Value o = Value::object();
  o.set("int", 3);
  o.set("neg", int64_t{-42});
  o.set("big", uint64_t{1} << 53);
  o.set("half", 0.5);
  o.set("s", "a\"b\\c\n\x01\x1f/\xC3\xA9");
  o.set("inf", std::numeric_limits<double>::infinity());
  o.set("nan", std::nan(""));
  Value a = Value::array();
  a.push_back(true);
  a.push_back(nullptr);
  a.push_back(Value::array());
  a.push_back(Value::object());
  o.set("a", a);
  o.set("int", 4);  // replace keeps the position
  REQUIRE(dump(o) == R"({"int":4,"neg":-42,"big":9007199254740992,"half":0.5,)"
                     R"("s":"a\"b\\c\n\u0001\u001f/)"
                     "\xC3\xA9"
                     R"(",)"
                     R"("inf":null,"nan":null,"a":[true,null,[],{}]})");
  REQUIRE(dump(parse(R"({"a":[1,{"b":null}],"c":{}})"), 2) ==
          "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {}\n}");
  REQUIRE(dump(Value(1e6)) == "1000000");  // integers never go scientific
  REQUIRE(dump(Value(-0.0)) == "-0");
  REQUIRE(dump(Value(1e300)) == "1e+300");
  REQUIRE(dump(Value(0.1)) == "0.1");
  REQUIRE(dump(Value(std::string(1, '\0'))) == R"("\u0000")");
}

TEST_CASE("json: dump -> parse round trip", "[json]") {
  const double nums[] = {
      0.1,   1.0 / 3.0,     -2.5e-310, 1.7976931348623157e308, 123456789.125, 9007199254740993.0, 3.0e20,
      -1e-5, 6.02214076e23, 65504.0};
  Value arr = Value::array();
  for (double d : nums) arr.push_back(d);
  const Value back = parse(dump(arr));
  REQUIRE(back.size() == std::size(nums));
  for (size_t i = 0; i < std::size(nums); ++i) REQUIRE(back[i].as_number() == nums[i]);

  const std::string doc = R"({"name":"kq","list":[1,-2,3.25,true,false,null,"\u00e9\ud83d\ude00\t"],)"
                          R"("nested":{"x":{"y":[[],[{}]]}},"e":""})";
  const Value v = parse(doc);
  for (int indent : {-1, 0, 2, 4}) {
    const std::string text = dump(v, indent);
    REQUIRE(dump(parse(text)) == dump(v));
  }
  // Every control character and the escape-worthy ASCII survive a round trip.
  std::string all;
  for (int c = 1; c < 128; ++c) all += static_cast<char>(c);
  REQUIRE(parse(dump(Value(all))).as_string() == all);
}

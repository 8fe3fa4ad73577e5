// Tests for GgufValue: typed access and conversions, array access, display, validation.
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/error.h"
#include "formats/gguf_value.h"

using kq::GgufType;
using kq::GgufValue;

TEST_CASE("gguf value: type names and sizes", "[gguf]") {
  CHECK(std::string(kq::gguf_type_name(GgufType::U8)) == "u8");
  CHECK(std::string(kq::gguf_type_name(GgufType::STRING)) == "string");
  CHECK(std::string(kq::gguf_type_name(GgufType::F64)) == "f64");
  CHECK(std::string(kq::gguf_type_name(GgufType(99))) == "unknown");
  CHECK(kq::gguf_type_size(GgufType::BOOL) == 1);
  CHECK(kq::gguf_type_size(GgufType::I16) == 2);
  CHECK(kq::gguf_type_size(GgufType::F32) == 4);
  CHECK(kq::gguf_type_size(GgufType::U64) == 8);
  CHECK(kq::gguf_type_size(GgufType::STRING) == 0);
  CHECK(kq::gguf_type_size(GgufType::ARRAY) == 0);
}

TEST_CASE("gguf value: integer conversions are exact or throw", "[gguf]") {
  CHECK(GgufValue::u8(255).as_int() == 255);
  CHECK(GgufValue::i8(-128).as_int() == -128);
  CHECK(GgufValue::u16(65535).as_uint() == 65535);
  CHECK(GgufValue::i16(-2).as_float() == -2.0);
  CHECK(GgufValue::u32(4294967295u).as_int() == 4294967295LL);
  CHECK(GgufValue::i32(-7).as_int() == -7);
  CHECK(GgufValue::i64(std::numeric_limits<int64_t>::min()).as_int() == std::numeric_limits<int64_t>::min());
  CHECK(GgufValue::u64(~uint64_t(0)).as_uint() == ~uint64_t(0));
  CHECK_THROWS_WITH(GgufValue::u64(~uint64_t(0)).as_int(), Catch::Contains("does not fit in int64"));
  CHECK_THROWS_WITH(GgufValue::i32(-1).as_uint(), Catch::Contains("-1 is negative"));
  CHECK(GgufValue::u32(1).is_integer());
  CHECK_FALSE(GgufValue::boolean(true).is_integer());
  CHECK_FALSE(GgufValue::f32(1).is_integer());
  CHECK_THROWS_AS(GgufValue::f32(1.5f).as_int(), kq::Error);
  CHECK_THROWS_AS(GgufValue::boolean(true).as_int(), kq::Error);
  CHECK_THROWS_AS(GgufValue::string("1").as_int(), kq::Error);
}

TEST_CASE("gguf value: float, bool and string access", "[gguf]") {
  CHECK(GgufValue::f32(0.25f).as_float() == 0.25);
  CHECK(GgufValue::f64(1e300).as_float() == 1e300);
  CHECK(GgufValue::boolean(true).as_bool());
  CHECK_FALSE(GgufValue::boolean(false).as_bool());
  CHECK_THROWS_AS(GgufValue::u8(1).as_bool(), kq::Error);
  CHECK(GgufValue::string("abc").as_string() == "abc");
  CHECK_THROWS_WITH(GgufValue::u8(1).as_string(), Catch::Contains("is u8, not string"));
  CHECK_THROWS_AS(GgufValue::string("x").as_float(), kq::Error);
  CHECK(GgufValue::string("x").size() == 1);
  CHECK_FALSE(GgufValue::string("x").is_array());
}

TEST_CASE("gguf value: a default-constructed value throws instead of reading nothing", "[gguf]") {
  const GgufValue v;
  CHECK_THROWS_AS(v.as_int(), kq::Error);
  CHECK_THROWS_AS(v.as_float(), kq::Error);
  CHECK(v.to_display() == "?");
}

TEST_CASE("gguf value: arrays", "[gguf]") {
  const GgufValue a = GgufValue::i32_array({3, -4});
  CHECK(a.is_array());
  CHECK(a.type() == GgufType::ARRAY);
  CHECK(a.elem_type() == GgufType::I32);
  CHECK(a.size() == 2);
  CHECK(a.int_at(1) == -4);
  CHECK(a.float_at(0) == 3.0);
  CHECK(a.raw().size() == 8);
  CHECK_THROWS_WITH(a.int_at(2), Catch::Contains("index 2 out of range (size 2)"));
  CHECK_THROWS_AS(a.string_at(0), kq::Error);
  CHECK_THROWS_AS(a.strings(), kq::Error);
  CHECK_THROWS_AS(a.as_int(), kq::Error);

  const GgufValue f = GgufValue::f32_array({0.5f});
  CHECK(f.float_at(0) == 0.5);
  CHECK_THROWS_AS(f.int_at(0), kq::Error);

  const GgufValue u = GgufValue::u32_array({7});
  CHECK(u.int_at(0) == 7);

  const GgufValue s = GgufValue::string_array({"x", "yz"});
  CHECK(s.elem_type() == GgufType::STRING);
  CHECK(s.size() == 2);
  CHECK(s.string_at(1) == "yz");
  CHECK(s.strings() == std::vector<std::string>{"x", "yz"});
  CHECK_THROWS_AS(s.int_at(0), kq::Error);
  CHECK_THROWS_AS(GgufValue::u8(1).int_at(0), kq::Error);
}

TEST_CASE("gguf value: numeric_array validates its payload", "[gguf]") {
  CHECK(GgufValue::numeric_array(GgufType::U16, 2, {1, 0, 2, 0}).int_at(1) == 2);
  CHECK_THROWS_WITH(GgufValue::numeric_array(GgufType::U16, 3, {1, 0}), Catch::Contains("2-byte payload"));
  CHECK_THROWS_AS(GgufValue::numeric_array(GgufType::STRING, 0, {}), kq::Error);
  CHECK_THROWS_AS(GgufValue::numeric_array(GgufType::ARRAY, 0, {}), kq::Error);
  CHECK_THROWS_WITH(GgufValue::numeric_array(GgufType::BOOL, 2, {1, 2}), Catch::Contains("element 1 is 2"));
  CHECK_THROWS_AS(GgufValue::numeric_array(GgufType::U64, ~size_t(0), {}), kq::Error);  // size overflow
}

TEST_CASE("gguf value: equality compares type and exact payload", "[gguf]") {
  CHECK(GgufValue::u32(1) == GgufValue::u32(1));
  CHECK_FALSE(GgufValue::u32(1) == GgufValue::i32(1));
  CHECK_FALSE(GgufValue::string_array({"a"}) == GgufValue::string_array({"b"}));
  CHECK(GgufValue::i32_array({1, 2}) == GgufValue::numeric_array(GgufType::I32, 2, {1, 0, 0, 0, 2, 0, 0, 0}));
}

TEST_CASE("gguf value: display", "[gguf]") {
  CHECK(GgufValue::u32(42).to_display() == "42");
  CHECK(GgufValue::i64(-5).to_display() == "-5");
  CHECK(GgufValue::u64(~uint64_t(0)).to_display() == "18446744073709551615");
  CHECK(GgufValue::f32(1e-5f).to_display() == "1e-05");
  CHECK(GgufValue::f64(0.5).to_display() == "0.5");
  CHECK(GgufValue::boolean(true).to_display() == "true");
  CHECK(GgufValue::string("llama").to_display() == "\"llama\"");
  CHECK(GgufValue::string("a\"b\\\n\t\x01").to_display() == "\"a\\\"b\\\\\\n\\t\\x01\"");
  // Long strings are cut at a character boundary and report their length.
  const std::string long_text = std::string(79, 'a') + "\xE2\x96\x81" + std::string(40, 'b');
  CHECK(GgufValue::string(long_text).to_display() == "\"" + std::string(79, 'a') + "\"... (122 bytes)");
  CHECK(GgufValue::string_array({"a", "b"}).to_display() == "[\"a\", \"b\"]");
  CHECK(GgufValue::string_array(std::vector<std::string>(32000, "x")).to_display() == "[string \xC3\x97 32000]");
  CHECK(GgufValue::f32_array({0.5f, 2}).to_display() == "[0.5, 2]");
  CHECK(GgufValue::i32_array({}).to_display() == "[]");
  CHECK(GgufValue::numeric_array(GgufType::BOOL, 2, {0, 1}).to_display() == "[false, true]");
}

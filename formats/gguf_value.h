// GgufValue: one metadata value (scalar or array) kept in its exact GGUF encoding for lossless rewrite.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kq {

// GGUF metadata value type ids.
enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};

const char* gguf_type_name(GgufType t);

class GgufValue {
 public:
  GgufValue() = default;

  static GgufValue u8(uint8_t v);
  static GgufValue i8(int8_t v);
  static GgufValue u16(uint16_t v);
  static GgufValue i16(int16_t v);
  static GgufValue u32(uint32_t v);
  static GgufValue i32(int32_t v);
  static GgufValue f32(float v);
  static GgufValue boolean(bool v);
  static GgufValue string(std::string v);
  static GgufValue u64(uint64_t v);
  static GgufValue i64(int64_t v);
  static GgufValue f64(double v);
  static GgufValue string_array(std::vector<std::string> v);
  static GgufValue i32_array(const std::vector<int32_t>& v);
  static GgufValue u32_array(const std::vector<uint32_t>& v);
  static GgufValue f32_array(const std::vector<float>& v);
  // A numeric (non-string, non-array) array from its raw little-endian payload.
  static GgufValue numeric_array(GgufType elem, size_t count, std::vector<uint8_t> raw);

  GgufType type() const { return type_; }
  GgufType elem_type() const { return elem_; }  // meaningful when type() == ARRAY
  bool is_array() const { return type_ == GgufType::ARRAY; }
  size_t size() const;  // element count of an array, 1 for a scalar

  // Scalar accessors; each throws kq::Error when the stored type does not fit.
  bool is_integer() const;  // any integer type (not bool)
  int64_t as_int() const;    // integer types; U64 above INT64_MAX throws
  uint64_t as_uint() const;  // integer types >= 0
  double as_float() const;   // F32 / F64 / integer types
  bool as_bool() const;
  const std::string& as_string() const;

  // Array element accessors (same conversions as the scalar ones).
  int64_t int_at(size_t i) const;
  double float_at(size_t i) const;
  const std::string& string_at(size_t i) const;
  const std::vector<std::string>& strings() const;  // STRING arrays

  // Raw payload of numeric scalars and numeric arrays, little-endian as in the file.
  const std::vector<uint8_t>& raw() const { return raw_; }

  // Short human rendering, e.g. `42`, `"llama"`, `[string × 32000]`.
  std::string to_display(size_t max_items = 8) const;

  bool operator==(const GgufValue&) const = default;

 private:
  GgufType type_ = GgufType::U8;
  GgufType elem_ = GgufType::U8;
  size_t count_ = 0;                  // array element count
  std::vector<uint8_t> raw_;          // numeric payload
  std::string str_;                   // STRING scalar
  std::vector<std::string> strs_;     // STRING array
};

// Bytes one element of a fixed-size type takes; 0 for STRING and ARRAY.
size_t gguf_type_size(GgufType t);

}  // namespace kq

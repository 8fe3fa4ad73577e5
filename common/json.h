// A small JSON DOM: parse (for manifests, scripted input) and dump (for --json output).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace kq::json {

class Value {
 public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  Value() = default;  // null
  Value(std::nullptr_t) {}
  Value(bool b);
  Value(double d);
  // Any integer type (exact up to 2^53, like every JSON number kq writes).
  template <typename T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
  Value(T v) : kind_(Kind::Number), num_(static_cast<double>(v)) {}
  Value(const char* s);
  Value(std::string s);
  static Value array();
  static Value object();

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::Null; }
  bool is_object() const { return kind_ == Kind::Object; }
  bool is_array() const { return kind_ == Kind::Array; }

  // Typed reads; each throws kq::Error on the wrong kind.
  bool as_bool() const;
  double as_number() const;
  int64_t as_int() const;  // number that is an exact integer
  const std::string& as_string() const;
  const std::vector<Value>& items() const;                         // array
  const std::vector<std::pair<std::string, Value>>& members() const;  // object, in insertion order

  // Object access: find returns nullptr when absent; at throws kq::Error naming the key.
  const Value* find(std::string_view key) const;
  const Value& at(std::string_view key) const;
  const Value& operator[](size_t i) const;  // array element, bounds-checked
  size_t size() const;                      // array or object size

  // Building.
  Value& push_back(Value v);                    // array
  Value& set(const std::string& key, Value v);  // object: replace or append

 private:
  Kind kind_ = Kind::Null;
  bool b_ = false;
  double num_ = 0;
  std::string str_;
  std::vector<Value> arr_;
  std::vector<std::pair<std::string, Value>> obj_;
};

// Parses RFC 8259 JSON; errors are kq::Error with the byte offset.
Value parse(std::string_view text);
// Serializes; indent < 0 gives one line. Integers print without a decimal point.
std::string dump(const Value& v, int indent = -1);

}  // namespace kq::json

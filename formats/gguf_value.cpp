// GgufValue: construction, typed access and display of GGUF metadata values.
#include "formats/gguf_value.h"

#include <bit>
#include <charconv>
#include <cstring>
#include <limits>

#include "common/error.h"

namespace kq {

// Raw payloads are kept in file byte order and read with memcpy, which is only right on LE hosts.
static_assert(std::endian::native == std::endian::little, "kq's GGUF code assumes a little-endian host");

const char* gguf_type_name(GgufType t) {
  switch (t) {
    case GgufType::U8: return "u8";
    case GgufType::I8: return "i8";
    case GgufType::U16: return "u16";
    case GgufType::I16: return "i16";
    case GgufType::U32: return "u32";
    case GgufType::I32: return "i32";
    case GgufType::F32: return "f32";
    case GgufType::BOOL: return "bool";
    case GgufType::STRING: return "string";
    case GgufType::ARRAY: return "array";
    case GgufType::U64: return "u64";
    case GgufType::I64: return "i64";
    case GgufType::F64: return "f64";
  }
  return "unknown";
}

size_t gguf_type_size(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::BOOL: return 1;
    case GgufType::U16: case GgufType::I16: return 2;
    case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
    case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
    case GgufType::STRING: case GgufType::ARRAY: return 0;
  }
  return 0;
}

namespace {

bool is_integer_type(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::U16: case GgufType::I16:
    case GgufType::U32: case GgufType::I32: case GgufType::U64: case GgufType::I64: return true;
    default: return false;
  }
}

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
std::vector<uint8_t> bytes_of(const T* p, size_t n) {
  std::vector<uint8_t> raw(n * sizeof(T));
  if (n) std::memcpy(raw.data(), p, raw.size());
  return raw;
}

// Integer element as a signed/unsigned pair so that U64 values above INT64_MAX stay exact.
struct IntElem {
  bool negative;
  uint64_t magnitude_or_value;  // the value when !negative; the two's-complement bits when negative
};

IntElem int_elem(GgufType t, const uint8_t* p) {
  auto s = [](int64_t v) { return IntElem{v < 0, static_cast<uint64_t>(v)}; };
  switch (t) {
    case GgufType::U8: return {false, load<uint8_t>(p)};
    case GgufType::I8: return s(load<int8_t>(p));
    case GgufType::U16: return {false, load<uint16_t>(p)};
    case GgufType::I16: return s(load<int16_t>(p));
    case GgufType::U32: return {false, load<uint32_t>(p)};
    case GgufType::I32: return s(load<int32_t>(p));
    case GgufType::U64: return {false, load<uint64_t>(p)};
    case GgufType::I64: return s(load<int64_t>(p));
    default: throw Error(std::string("GGUF value of type ") + gguf_type_name(t) + " is not an integer");
  }
}

int64_t to_int64(GgufType t, const uint8_t* p) {
  const IntElem e = int_elem(t, p);
  if (!e.negative && e.magnitude_or_value > uint64_t(std::numeric_limits<int64_t>::max()))
    throw Error("GGUF u64 value " + std::to_string(e.magnitude_or_value) + " does not fit in int64");
  return static_cast<int64_t>(e.magnitude_or_value);
}

double to_double(GgufType t, const uint8_t* p) {
  if (t == GgufType::F32) return load<float>(p);
  if (t == GgufType::F64) return load<double>(p);
  const IntElem e = int_elem(t, p);
  return e.negative ? double(static_cast<int64_t>(e.magnitude_or_value)) : double(e.magnitude_or_value);
}

std::string number_text(GgufType t, const uint8_t* p) {
  char buf[64];
  std::to_chars_result r{};
  if (t == GgufType::F32) {
    r = std::to_chars(buf, buf + sizeof buf, load<float>(p));
  } else if (t == GgufType::F64) {
    r = std::to_chars(buf, buf + sizeof buf, load<double>(p));
  } else if (t == GgufType::BOOL) {
    return p[0] ? "true" : "false";
  } else {
    const IntElem e = int_elem(t, p);
    r = e.negative ? std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(e.magnitude_or_value))
                   : std::to_chars(buf, buf + sizeof buf, e.magnitude_or_value);
  }
  return std::string(buf, r.ptr);
}

// Quotes a string for one-line display: control bytes escaped, long text cut at a UTF-8 boundary.
std::string quoted(const std::string& s) {
  constexpr size_t kMaxShown = 80;
  size_t shown = s.size();
  if (shown > kMaxShown) {
    shown = kMaxShown;
    while (shown > 0 && (static_cast<uint8_t>(s[shown]) & 0xC0) == 0x80) --shown;  // not mid-character
  }
  std::string out = "\"";
  static const char* kHex = "0123456789abcdef";
  for (size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += char(c);
    }
  }
  out += '"';
  if (shown < s.size()) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

}  // namespace

#define KQ_GGUF_SCALAR(fn, ctype, tag)       \
  GgufValue GgufValue::fn(ctype v) {         \
    GgufValue g;                             \
    g.type_ = GgufType::tag;                 \
    g.raw_ = bytes_of(&v, 1);                \
    return g;                                \
  }
KQ_GGUF_SCALAR(u8, uint8_t, U8)
KQ_GGUF_SCALAR(i8, int8_t, I8)
KQ_GGUF_SCALAR(u16, uint16_t, U16)
KQ_GGUF_SCALAR(i16, int16_t, I16)
KQ_GGUF_SCALAR(u32, uint32_t, U32)
KQ_GGUF_SCALAR(i32, int32_t, I32)
KQ_GGUF_SCALAR(f32, float, F32)
KQ_GGUF_SCALAR(u64, uint64_t, U64)
KQ_GGUF_SCALAR(i64, int64_t, I64)
KQ_GGUF_SCALAR(f64, double, F64)
#undef KQ_GGUF_SCALAR

GgufValue GgufValue::boolean(bool v) {
  GgufValue g;
  g.type_ = GgufType::BOOL;
  g.raw_ = {uint8_t(v ? 1 : 0)};
  return g;
}

GgufValue GgufValue::string(std::string v) {
  GgufValue g;
  g.type_ = GgufType::STRING;
  g.str_ = std::move(v);
  return g;
}

GgufValue GgufValue::string_array(std::vector<std::string> v) {
  GgufValue g;
  g.type_ = GgufType::ARRAY;
  g.elem_ = GgufType::STRING;
  g.count_ = v.size();
  g.strs_ = std::move(v);
  return g;
}

GgufValue GgufValue::i32_array(const std::vector<int32_t>& v) {
  return numeric_array(GgufType::I32, v.size(), bytes_of(v.data(), v.size()));
}
GgufValue GgufValue::u32_array(const std::vector<uint32_t>& v) {
  return numeric_array(GgufType::U32, v.size(), bytes_of(v.data(), v.size()));
}
GgufValue GgufValue::f32_array(const std::vector<float>& v) {
  return numeric_array(GgufType::F32, v.size(), bytes_of(v.data(), v.size()));
}

GgufValue GgufValue::numeric_array(GgufType elem, size_t count, std::vector<uint8_t> raw) {
  const size_t esize = gguf_type_size(elem);
  if (esize == 0)
    throw Error(std::string("GGUF numeric array cannot hold elements of type ") + gguf_type_name(elem));
  size_t expect = 0;
  if (__builtin_mul_overflow(count, esize, &expect) || expect != raw.size())
    throw Error("GGUF " + std::string(gguf_type_name(elem)) + " array of " + std::to_string(count) +
                " elements does not match its " + std::to_string(raw.size()) + "-byte payload");
  if (elem == GgufType::BOOL)
    for (size_t i = 0; i < count; ++i)
      if (raw[i] > 1) throw Error("GGUF bool array element " + std::to_string(i) + " is " + std::to_string(raw[i]));
  GgufValue g;
  g.type_ = GgufType::ARRAY;
  g.elem_ = elem;
  g.count_ = count;
  g.raw_ = std::move(raw);
  return g;
}

namespace {
// Returns the scalar payload, refusing a default-constructed (empty) value instead of reading past it.
const uint8_t* scalar_bytes(GgufType t, const std::vector<uint8_t>& raw) {
  if (raw.size() < gguf_type_size(t) || gguf_type_size(t) == 0)
    throw Error(std::string("GGUF ") + gguf_type_name(t) + " value has no payload");
  return raw.data();
}
}  // namespace

size_t GgufValue::size() const { return is_array() ? count_ : 1; }

bool GgufValue::is_integer() const { return is_integer_type(type_); }

int64_t GgufValue::as_int() const {
  if (!is_integer()) throw Error(std::string("GGUF value is ") + gguf_type_name(type_) + ", not an integer");
  return to_int64(type_, scalar_bytes(type_, raw_));
}

uint64_t GgufValue::as_uint() const {
  if (!is_integer()) throw Error(std::string("GGUF value is ") + gguf_type_name(type_) + ", not an integer");
  const IntElem e = int_elem(type_, scalar_bytes(type_, raw_));
  if (e.negative) throw Error("GGUF value " + number_text(type_, raw_.data()) + " is negative");
  return e.magnitude_or_value;
}

double GgufValue::as_float() const {
  if (!is_integer() && type_ != GgufType::F32 && type_ != GgufType::F64)
    throw Error(std::string("GGUF value is ") + gguf_type_name(type_) + ", not a number");
  return to_double(type_, scalar_bytes(type_, raw_));
}

bool GgufValue::as_bool() const {
  if (type_ != GgufType::BOOL) throw Error(std::string("GGUF value is ") + gguf_type_name(type_) + ", not bool");
  return scalar_bytes(type_, raw_)[0] != 0;
}

const std::string& GgufValue::as_string() const {
  if (type_ != GgufType::STRING) throw Error(std::string("GGUF value is ") + gguf_type_name(type_) + ", not string");
  return str_;
}

namespace {
void check_index(const GgufValue& v, size_t i) {
  if (!v.is_array()) throw Error(std::string("GGUF value is ") + gguf_type_name(v.type()) + ", not an array");
  if (i >= v.size())
    throw Error("GGUF array index " + std::to_string(i) + " out of range (size " + std::to_string(v.size()) + ")");
}
}  // namespace

int64_t GgufValue::int_at(size_t i) const {
  check_index(*this, i);
  if (!is_integer_type(elem_))
    throw Error(std::string("GGUF array of ") + gguf_type_name(elem_) + " is not an integer array");
  return to_int64(elem_, raw_.data() + i * gguf_type_size(elem_));
}

double GgufValue::float_at(size_t i) const {
  check_index(*this, i);
  if (!is_integer_type(elem_) && elem_ != GgufType::F32 && elem_ != GgufType::F64)
    throw Error(std::string("GGUF array of ") + gguf_type_name(elem_) + " is not a numeric array");
  return to_double(elem_, raw_.data() + i * gguf_type_size(elem_));
}

const std::string& GgufValue::string_at(size_t i) const {
  check_index(*this, i);
  if (elem_ != GgufType::STRING)
    throw Error(std::string("GGUF array of ") + gguf_type_name(elem_) + " is not a string array");
  return strs_[i];
}

const std::vector<std::string>& GgufValue::strings() const {
  if (!is_array() || elem_ != GgufType::STRING)
    throw Error(std::string("GGUF value is ") + gguf_type_name(type_) + ", not a string array");
  return strs_;
}

std::string GgufValue::to_display(size_t max_items) const {
  if (type_ == GgufType::STRING) return quoted(str_);
  if (!is_array()) return raw_.size() < gguf_type_size(type_) ? "?" : number_text(type_, raw_.data());
  // Long arrays (token lists) are summarised: their contents would flood a one-line listing.
  const std::string summary = std::string("[") + gguf_type_name(elem_) + " \xC3\x97 " + std::to_string(count_) + "]";
  if (count_ > max_items) return summary;
  std::string out = "[";
  const size_t esize = gguf_type_size(elem_);
  for (size_t i = 0; i < count_; ++i) {
    if (i) out += ", ";
    out += elem_ == GgufType::STRING ? quoted(strs_[i]) : number_text(elem_, raw_.data() + i * esize);
  }
  return out + "]";
}

}  // namespace kq

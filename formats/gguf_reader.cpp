// GgufFile: mmap a GGUF v2/v3 file and validate every count, size and offset before trusting it.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <utility>

#include "common/error.h"
#include "formats/gguf.h"

namespace kq {

namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr size_t kMaxTensorName = 63;        // ggml's GGML_MAX_NAME (64) minus the NUL
constexpr uint32_t kMaxDims = 4;
// Smallest encodings, used to bound counts by the bytes left before anything is allocated.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;        // empty key, type, one-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // empty name, n_dims 0, type, offset
// Up-front reservations are capped: past this, vectors grow only as records are actually parsed,
// so memory stays proportional to the bytes really present, whatever a count claims.
constexpr uint64_t kMaxReserve = 4096;

size_t capped(uint64_t n) { return size_t(std::min(n, kMaxReserve)); }

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// Reads little-endian fields from an untrusted byte range; every read is bounds-checked and
// every failure names the file, the field and the byte offset where the field starts.
class Cursor {
 public:
  Cursor(const uint8_t* base, uint64_t size, const std::string& file) : base_(base), size_(size), file_(file) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }
  const uint8_t* at(uint64_t off) const { return base_ + off; }

  [[noreturn]] void fail(uint64_t at, const std::string& what) const {
    throw Error(file_ + ": " + what + " (at byte " + std::to_string(at) + ")");
  }

  // Returns the position of a field of n bytes and advances past it; throws when it is cut off.
  uint64_t take(uint64_t n, const std::string& field) {
    if (n > remaining())
      fail(pos_, "file truncated in " + field + " (needs " + std::to_string(n) + " bytes, " +
                     std::to_string(remaining()) + " left)");
    const uint64_t p = pos_;
    pos_ += n;
    return p;
  }

  template <typename T>
  T read(const std::string& field) {
    T v;
    std::memcpy(&v, at(take(sizeof v, field)), sizeof v);
    return v;
  }

  // Reads a GGUF string. `elem` numbers array elements; names are only built on failure, since
  // token arrays hold hundreds of thousands of strings.
  std::string read_string(const std::string& field, uint64_t elem = kNoElem) {
    auto name = [&] { return elem == kNoElem ? field : field + " element " + std::to_string(elem); };
    const uint64_t len_at = pos_;
    if (remaining() < 8) take(8, name() + " length");  // throws
    uint64_t len;
    std::memcpy(&len, at(pos_), 8);
    pos_ += 8;
    if (len > remaining())
      fail(len_at, name() + " length " + std::to_string(len) + " exceeds the " + std::to_string(remaining()) +
                       " bytes left in the file");
    const uint64_t p = pos_;
    pos_ += len;
    return std::string(reinterpret_cast<const char*>(at(p)), size_t(len));
  }

  static constexpr uint64_t kNoElem = ~uint64_t(0);

 private:
  const uint8_t* base_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const std::string& file_;
};

bool valid_value_type(uint32_t t) { return t <= uint32_t(GgufType::F64); }

// Builds a scalar GgufValue of a fixed-size type from its file bytes.
GgufValue scalar_from(GgufType t, const uint8_t* p) {
  auto ld = [p](auto v) {
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  switch (t) {
    case GgufType::U8: return GgufValue::u8(ld(uint8_t{}));
    case GgufType::I8: return GgufValue::i8(ld(int8_t{}));
    case GgufType::U16: return GgufValue::u16(ld(uint16_t{}));
    case GgufType::I16: return GgufValue::i16(ld(int16_t{}));
    case GgufType::U32: return GgufValue::u32(ld(uint32_t{}));
    case GgufType::I32: return GgufValue::i32(ld(int32_t{}));
    case GgufType::F32: return GgufValue::f32(ld(float{}));
    case GgufType::BOOL: return GgufValue::boolean(p[0] != 0);
    case GgufType::U64: return GgufValue::u64(ld(uint64_t{}));
    case GgufType::I64: return GgufValue::i64(ld(int64_t{}));
    case GgufType::F64: return GgufValue::f64(ld(double{}));
    default: throw Error("internal: scalar_from on a variable-size type");
  }
}

// Parses one value of type t; `field` names it in errors (e.g. "metadata kv 3 ('general.name') value").
GgufValue read_value(Cursor& c, GgufType t, const std::string& field) {
  if (t == GgufType::STRING) return GgufValue::string(c.read_string(field));
  if (t != GgufType::ARRAY) {
    const uint64_t p = c.take(gguf_type_size(t), field);
    if (t == GgufType::BOOL && *c.at(p) > 1) c.fail(p, field + ": bool value " + std::to_string(*c.at(p)) + " is not 0 or 1");
    return scalar_from(t, c.at(p));
  }
  const uint64_t etype_at = c.pos();
  const uint32_t etype = c.read<uint32_t>(field + " element type");
  if (!valid_value_type(etype)) c.fail(etype_at, field + ": unknown array element type " + std::to_string(etype));
  const auto et = GgufType(etype);
  if (et == GgufType::ARRAY) c.fail(etype_at, field + ": nested arrays are not supported");
  const uint64_t count_at = c.pos();
  const uint64_t count = c.read<uint64_t>(field + " element count");
  // Each element takes at least its fixed size (8 bytes, the length, for strings): bound the count first.
  const uint64_t min_elem = et == GgufType::STRING ? 8 : gguf_type_size(et);
  if (count > c.remaining() / min_elem)
    c.fail(count_at, field + ": array count " + std::to_string(count) + " of " + gguf_type_name(et) +
                         " cannot fit in the " + std::to_string(c.remaining()) + " bytes left");
  if (et == GgufType::STRING) {
    std::vector<std::string> strs;
    strs.reserve(capped(count));
    for (uint64_t i = 0; i < count; ++i) strs.push_back(c.read_string(field, i));
    return GgufValue::string_array(std::move(strs));
  }
  const uint64_t nbytes = count * min_elem;  // cannot overflow: count <= remaining / min_elem
  const uint64_t p = c.take(nbytes, field + " elements");
  if (et == GgufType::BOOL)
    for (uint64_t i = 0; i < count; ++i)
      if (*c.at(p + i) > 1)
        c.fail(p + i, field + " element " + std::to_string(i) + ": bool value " + std::to_string(*c.at(p + i)) +
                          " is not 0 or 1");
  return GgufValue::numeric_array(et, size_t(count), std::vector<uint8_t>(c.at(p), c.at(p) + nbytes));
}

// Rounds x up to a multiple of a (a power of two); false on overflow.
bool align_up(uint64_t x, uint64_t a, uint64_t* out) {
  uint64_t y = 0;
  if (__builtin_add_overflow(x, a - 1, &y)) return false;
  *out = y & ~(a - 1);
  return true;
}

// Renders a key or tensor name from the file for an error message: the bytes are untrusted, so
// control bytes are escaped and long names cut, keeping messages one readable line.
std::string shown(const std::string& name) {
  constexpr size_t kMaxShown = 80;
  std::string out;
  for (size_t i = 0; i < name.size() && i < kMaxShown; ++i) {
    const auto ch = static_cast<uint8_t>(name[i]);
    if (ch < 0x20 || ch == 0x7F || ch == '\\' || ch == '\'') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", ch);
      out += buf;
    } else {
      out += char(ch);
    }
  }
  if (name.size() > kMaxShown) out += "...";
  return out;
}

std::string tensor_label(uint64_t i, const std::string& name) {
  return "tensor info " + std::to_string(i) + " ('" + shown(name) + "')";
}

}  // namespace

GgufFile GgufFile::open(const std::string& path) {
  GgufFile f;
  f.path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw Error(path + ": cannot stat: " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": not a regular file");
  }
  f.size_ = uint64_t(st.st_size);
  if (f.size_ > 0) {
    void* m = mmap(nullptr, size_t(f.size_), PROT_READ, MAP_PRIVATE, fd, 0);
    const int e = errno;
    ::close(fd);  // the mapping keeps the file alive
    if (m == MAP_FAILED) throw Error(path + ": cannot mmap " + std::to_string(f.size_) + " bytes: " + std::strerror(e));
    f.map_ = m;
    f.base_ = static_cast<const uint8_t*>(m);
  } else {
    ::close(fd);
  }
  f.parse();  // on failure f's destructor unmaps
  return f;
}

GgufFile GgufFile::from_memory(const void* data, size_t size, std::string name) {
  GgufFile f;
  f.path_ = std::move(name);
  f.base_ = static_cast<const uint8_t*>(data);
  f.size_ = size;
  f.parse();
  return f;
}

GgufFile::GgufFile(GgufFile&& o) noexcept { *this = std::move(o); }

GgufFile& GgufFile::operator=(GgufFile&& o) noexcept {
  if (this == &o) return *this;
  if (map_) munmap(map_, size_t(size_));
  path_ = std::move(o.path_);
  base_ = std::exchange(o.base_, nullptr);
  size_ = std::exchange(o.size_, 0);
  map_ = std::exchange(o.map_, nullptr);
  version_ = o.version_;
  alignment_ = o.alignment_;
  data_offset_ = o.data_offset_;
  kv_ = std::move(o.kv_);
  tensors_ = std::move(o.tensors_);
  return *this;
}

GgufFile::~GgufFile() {
  if (map_) munmap(map_, size_t(size_));
}

void GgufFile::parse() {
  static const uint8_t kEmpty = 0;
  Cursor c(base_ ? base_ : &kEmpty, base_ ? size_ : 0, path_);

  // Header.
  const uint32_t magic = c.read<uint32_t>("header magic");
  if (magic != kGgufMagic) c.fail(0, "not a GGUF file: magic " + hex32(magic) + ", expected 0x46554747 (\"GGUF\")");
  const uint32_t version = c.read<uint32_t>("header version");
  if ((version & 0xFFFF) == 0 && version != 0)
    c.fail(4, "big-endian GGUF not supported (version field reads " + hex32(version) + ")");
  if (version == 1) c.fail(4, "GGUF version 1 is not supported (only 2 and 3)");
  if (version != 2 && version != 3) c.fail(4, "unsupported GGUF version " + std::to_string(version) + " (only 2 and 3)");
  version_ = version;
  const uint64_t n_tensors = c.read<uint64_t>("header tensor_count");
  const uint64_t n_kv = c.read<uint64_t>("header metadata_kv_count");
  if (n_kv > c.remaining() / kMinKvBytes)
    c.fail(16, "metadata_kv_count " + std::to_string(n_kv) + " cannot fit in the " + std::to_string(c.remaining()) +
                   " bytes left");
  if (n_tensors > c.remaining() / kMinTensorInfoBytes)
    c.fail(8, "tensor_count " + std::to_string(n_tensors) + " cannot fit in the " + std::to_string(c.remaining()) +
                  " bytes left");

  // Metadata.
  std::set<std::string, std::less<>> keys;
  uint64_t alignment_at = 0;  // where general.alignment's value sits, for its errors
  kv_.reserve(capped(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    const std::string label = "metadata kv " + std::to_string(i);
    const uint64_t key_at = c.pos();
    std::string key = c.read_string(label + " key");
    const std::string field = label + " ('" + shown(key) + "')";
    if (!keys.insert(key).second) c.fail(key_at, field + ": duplicate key");
    const uint64_t type_at = c.pos();
    const uint32_t type = c.read<uint32_t>(field + " value type");
    if (!valid_value_type(type)) c.fail(type_at, field + ": unknown value type " + std::to_string(type));
    const uint64_t value_at = c.pos();
    GgufValue v = read_value(c, GgufType(type), field + " value");
    if (key == "general.alignment") alignment_at = value_at;
    kv_.emplace_back(std::move(key), std::move(v));
  }
  alignment_ = kGgufDefaultAlignment;
  if (const GgufValue* a = find("general.alignment")) {
    if (a->type() != GgufType::U32)
      c.fail(alignment_at, std::string("general.alignment must be u32, found ") + gguf_type_name(a->type()));
    const uint32_t al = uint32_t(a->as_uint());
    if (al == 0 || (al & (al - 1)) != 0)
      c.fail(alignment_at, "general.alignment " + std::to_string(al) + " is not a non-zero power of two");
    alignment_ = al;
  }

  // Tensor infos. Offsets must equal the cumulative aligned layout, as ggml requires.
  std::set<std::string, std::less<>> names;
  std::vector<uint64_t> offset_at;  // where each offset field sits, for data-range errors
  offset_at.reserve(capped(n_tensors));
  tensors_.reserve(capped(n_tensors));
  uint64_t expected = 0;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    const uint64_t name_at = c.pos();
    t.name = c.read_string("tensor info " + std::to_string(i) + " name");
    const std::string field = tensor_label(i, t.name);
    if (t.name.size() > kMaxTensorName)
      c.fail(name_at, field + ": name length " + std::to_string(t.name.size()) + " > " + std::to_string(kMaxTensorName));
    if (!names.insert(t.name).second) c.fail(name_at, field + ": duplicate tensor name");
    const uint64_t ndims_at = c.pos();
    t.n_dims = c.read<uint32_t>(field + " n_dims");
    if (t.n_dims > kMaxDims)
      c.fail(ndims_at, field + ": n_dims " + std::to_string(t.n_dims) + " > " + std::to_string(kMaxDims));
    int64_t n_elements = 1;
    for (uint32_t d = 0; d < t.n_dims; ++d) {
      const uint64_t dim_at = c.pos();
      const uint64_t ne = c.read<uint64_t>(field + " ne[" + std::to_string(d) + "]");
      if (ne == 0 || ne > uint64_t(std::numeric_limits<int64_t>::max()))
        c.fail(dim_at, field + ": ne[" + std::to_string(d) + "] = " + std::to_string(int64_t(ne)) + " is not positive");
      t.ne[d] = int64_t(ne);
      if (__builtin_mul_overflow(n_elements, t.ne[d], &n_elements))
        c.fail(dim_at, field + ": element count overflows int64 at ne[" + std::to_string(d) + "]");
    }
    const uint64_t type_at = c.pos();
    const uint32_t type_id = c.read<uint32_t>(field + " type");
    const TypeTraits* tt = find_type(type_id);
    if (!tt) c.fail(type_at, field + ": unknown or unsupported tensor type id " + std::to_string(type_id));
    t.type = tt->type;
    if (t.ne[0] % tt->block_size != 0)
      c.fail(ndims_at + 4, field + ": ne[0] = " + std::to_string(t.ne[0]) + " is not a multiple of the " + tt->name +
                               " block size " + std::to_string(tt->block_size));
    uint64_t nbytes = uint64_t(t.ne[0] / tt->block_size);
    bool overflow = __builtin_mul_overflow(nbytes, uint64_t(tt->type_size), &nbytes);
    for (int d = 1; d < 4; ++d) overflow = overflow || __builtin_mul_overflow(nbytes, uint64_t(t.ne[d]), &nbytes);
    if (overflow) c.fail(ndims_at, field + ": byte size overflows 64 bits");
    t.nbytes = nbytes;
    offset_at.push_back(c.pos());
    t.offset = c.read<uint64_t>(field + " offset");
    if (t.offset % alignment_ != 0)
      c.fail(offset_at[size_t(i)], field + ": offset " + std::to_string(t.offset) + " is not a multiple of alignment " +
                                       std::to_string(alignment_));
    if (t.offset != expected)
      c.fail(offset_at[size_t(i)], field + ": offset " + std::to_string(t.offset) + " != expected " +
                                       std::to_string(expected) + " (tensors must be packed in order)");
    uint64_t padded = 0;
    if (!align_up(nbytes, alignment_, &padded) || __builtin_add_overflow(expected, padded, &expected))
      c.fail(offset_at[size_t(i)], field + ": data section size overflows 64 bits");
    tensors_.push_back(std::move(t));
  }

  // Data section: aligned from the end of the tensor infos. With no tensors ggml does not seek
  // there, so a file that ends before the padding is still valid.
  uint64_t data_start = 0;
  if (!align_up(c.pos(), alignment_, &data_start)) c.fail(c.pos(), "data section start overflows 64 bits");
  if (tensors_.empty()) {
    data_offset_ = data_start <= size_ ? data_start : size_;
    return;
  }
  data_offset_ = data_start;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    GgufTensorInfo& t = tensors_[i];
    uint64_t begin = 0, end = 0;
    const bool overflow =
        __builtin_add_overflow(data_start, t.offset, &begin) || __builtin_add_overflow(begin, t.nbytes, &end);
    if (overflow || end > size_) {
      const std::string range =
          overflow ? "beyond 2^64" : "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
      c.fail(offset_at[i], tensor_label(i, t.name) + ": data at offset " + std::to_string(t.offset) + " (" +
                               std::to_string(t.nbytes) + " bytes, file bytes " + range +
                               ") runs past the end of the file (" + std::to_string(size_) + " bytes)");
    }
    t.data = base_ + begin;
  }
}

const GgufValue* GgufFile::find(std::string_view key) const {
  for (const auto& [k, v] : kv_)
    if (k == key) return &v;
  return nullptr;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

namespace {
[[noreturn]] void wrong_type(const std::string& file, std::string_view key, const GgufValue& v, const char* want) {
  std::string got = gguf_type_name(v.type());
  if (v.is_array()) got += std::string(" of ") + gguf_type_name(v.elem_type());
  throw Error(file + ": metadata key '" + std::string(key) + "' is " + got + ", expected " + want);
}
}  // namespace

std::string GgufFile::get_string(std::string_view key, const std::string& def) const {
  const GgufValue* v = find(key);
  if (!v) return def;
  if (v->type() != GgufType::STRING) wrong_type(path_, key, *v, "string");
  return v->as_string();
}

int64_t GgufFile::get_int(std::string_view key, int64_t def) const {
  const GgufValue* v = find(key);
  if (!v) return def;
  if (!v->is_integer()) wrong_type(path_, key, *v, "an integer");
  try {
    return v->as_int();
  } catch (const Error& e) {
    throw Error(path_ + ": metadata key '" + std::string(key) + "': " + e.what());
  }
}

double GgufFile::get_float(std::string_view key, double def) const {
  const GgufValue* v = find(key);
  if (!v) return def;
  if (!v->is_integer() && v->type() != GgufType::F32 && v->type() != GgufType::F64) wrong_type(path_, key, *v, "a number");
  return v->as_float();
}

bool GgufFile::get_bool(std::string_view key, bool def) const {
  const GgufValue* v = find(key);
  if (!v) return def;
  if (v->type() != GgufType::BOOL) wrong_type(path_, key, *v, "bool");
  return v->as_bool();
}

}  // namespace kq

// Byte-level GGUF builder for tests: writes fields by hand and remembers where each one sits.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace kq::test {

// Appends little-endian GGUF fields to a byte vector. Records the offsets of the fields just
// written so that tests can corrupt them or expect them in "at byte N" error messages.
class GgufBytes {
 public:
  struct KvAt {
    size_t key, type, value;
  };
  struct TensorAt {
    size_t name, n_dims, ne0, type, offset;
  };

  std::vector<uint8_t> bytes;

  size_t pos() const { return bytes.size(); }

  GgufBytes& u8(uint8_t v) { return raw(&v, 1); }
  GgufBytes& u32(uint32_t v) { return raw(&v, 4); }
  GgufBytes& u64(uint64_t v) { return raw(&v, 8); }
  GgufBytes& f32(float v) { return raw(&v, 4); }
  GgufBytes& str(const std::string& s) {
    u64(s.size());
    return raw(s.data(), s.size());
  }
  GgufBytes& raw(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes.insert(bytes.end(), b, b + n);
    return *this;
  }
  GgufBytes& zeros(size_t n) {
    bytes.resize(bytes.size() + n, 0);
    return *this;
  }
  GgufBytes& pad_to(size_t align) { return zeros((align - pos() % align) % align); }

  GgufBytes& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    raw("GGUF", 4);
    u32(version);
    u64(n_tensors);
    return u64(n_kv);
  }

  // Writes key and type; the caller appends the value bytes (value offset is recorded).
  KvAt kv(const std::string& key, uint32_t type) {
    KvAt at{pos(), 0, 0};
    str(key);
    at.type = pos();
    u32(type);
    at.value = pos();
    return at;
  }
  KvAt kv_u32(const std::string& key, uint32_t v) {
    KvAt at = kv(key, 4);
    u32(v);
    return at;
  }
  KvAt kv_str(const std::string& key, const std::string& v) {
    KvAt at = kv(key, 8);
    str(v);
    return at;
  }

  TensorAt tensor(const std::string& name, const std::vector<uint64_t>& ne, uint32_t type, uint64_t offset) {
    TensorAt at{pos(), 0, 0, 0, 0};
    str(name);
    at.n_dims = pos();
    u32(uint32_t(ne.size()));
    at.ne0 = pos();
    for (uint64_t d : ne) u64(d);
    at.type = pos();
    u32(type);
    at.offset = pos();
    u64(offset);
    return at;
  }

  void put_u32(size_t at, uint32_t v) { std::memcpy(bytes.data() + at, &v, 4); }
  void put_u64(size_t at, uint64_t v) { std::memcpy(bytes.data() + at, &v, 8); }
};

// Where the fields of small_valid_file() sit.
struct SmallFileAt {
  GgufBytes::KvAt arch, align, flag, list;
  GgufBytes::TensorAt t0, t1;
  size_t data_start;
};

// A small valid v3 file: 4 metadata keys (string, u32 alignment 32, bool, i32 array) and two
// tensors: "blk.0.q.weight" Q8_0 [32, 1] (34 bytes + 30 pad) and "tok.weight" F32 [4, 2] (32 bytes).
// The last tensor ends exactly on the alignment, so every truncation cuts required bytes.
inline GgufBytes small_valid_file(SmallFileAt* at = nullptr) {
  GgufBytes b;
  SmallFileAt a{};
  b.header(2, 4);
  a.arch = b.kv_str("general.architecture", "llama");
  a.align = b.kv_u32("general.alignment", 32);
  a.flag = b.kv("test.flag", 7);
  b.u8(1);
  a.list = b.kv("test.list", 9);
  b.u32(5).u64(3).u32(1).u32(2).u32(uint32_t(-3));
  a.t0 = b.tensor("blk.0.q.weight", {32, 1}, 8, 0);
  a.t1 = b.tensor("tok.weight", {4, 2}, 0, 64);
  b.pad_to(32);
  a.data_start = b.pos();
  for (int i = 0; i < 34; ++i) b.u8(uint8_t(i));
  b.pad_to(32);
  for (int i = 0; i < 8; ++i) b.f32(float(i));
  if (at) *at = a;
  return b;
}

}  // namespace kq::test

// Tests for the GGUF reader: valid files, a table of corrupted files, truncation at every byte.
#include <array>
#include <catch2/catch.hpp>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "formats/gguf.h"
#include "tests/formats/gguf_test_util.h"

using kq::GgufFile;
using kq::GgufType;
using kq::test::GgufBytes;
using kq::test::small_valid_file;
using kq::test::SmallFileAt;

namespace {

GgufFile parse(const std::vector<uint8_t>& b) { return GgufFile::from_memory(b.data(), b.size(), "t.gguf"); }

std::string at_byte(size_t n) { return " (at byte " + std::to_string(n) + ")"; }

struct Corrupt {
  std::vector<uint8_t> bytes;
  std::string expect;  // substring of the error message
};

// One corrupted file per failure class the reader must report.
struct Case {
  const char* name;
  std::function<Corrupt()> make;
};

// Applies `edit` to the small valid file and expects `expect` (built from its field offsets).
Case patched(const char* name, std::function<std::string(GgufBytes&, const SmallFileAt&)> edit) {
  return {name, [edit] {
            SmallFileAt at;
            GgufBytes b = small_valid_file(&at);
            std::string expect = edit(b, at);
            return Corrupt{b.bytes, expect};
          }};
}

// Builds a one-tensor file (no metadata) from scratch; `tensor` writes the tensor info.
Case one_tensor(const char* name, std::function<std::string(GgufBytes&)> tensor, size_t data_bytes = 64) {
  return {name, [tensor, data_bytes] {
            GgufBytes b;
            b.header(1, 0);
            std::string expect = tensor(b);
            b.pad_to(32).zeros(data_bytes);
            return Corrupt{b.bytes, expect};
          }};
}

const std::vector<Case>& corrupt_cases() {
  static const std::vector<Case> cases = {
      patched("wrong magic", [](GgufBytes& b, const SmallFileAt&) {
        b.bytes[0] = 'X';
        return "t.gguf: not a GGUF file: magic" ;
      }),
      patched("version 1", [](GgufBytes& b, const SmallFileAt&) {
        b.put_u32(4, 1);
        return "GGUF version 1 is not supported (only 2 and 3)" + at_byte(4);
      }),
      patched("byte-swapped version", [](GgufBytes& b, const SmallFileAt&) {
        b.put_u32(4, 0x03000000);
        return std::string("big-endian GGUF not supported");
      }),
      patched("version 4", [](GgufBytes& b, const SmallFileAt&) {
        b.put_u32(4, 4);
        return "unsupported GGUF version 4 (only 2 and 3)" + at_byte(4);
      }),
      patched("absurd tensor count", [](GgufBytes& b, const SmallFileAt&) {
        b.put_u64(8, uint64_t(1) << 61);
        return "tensor_count 2305843009213693952 cannot fit" ;
      }),
      patched("absurd kv count", [](GgufBytes& b, const SmallFileAt&) {
        b.put_u64(16, ~uint64_t(0));
        return "metadata_kv_count 18446744073709551615 cannot fit in the";
      }),
      patched("key length past end", [](GgufBytes& b, const SmallFileAt& a) {
        b.put_u64(a.arch.key, uint64_t(1) << 40);
        return "metadata kv 0 key length 1099511627776 exceeds" ;
      }),
      patched("string value length past end", [](GgufBytes& b, const SmallFileAt& a) {
        b.put_u64(a.arch.value, 100000);
        return "metadata kv 0 ('general.architecture') value length 100000 exceeds the" ;
      }),
      patched("unknown value type", [](GgufBytes& b, const SmallFileAt& a) {
        b.put_u32(a.flag.type, 13);
        return "metadata kv 2 ('test.flag'): unknown value type 13" + at_byte(a.flag.type);
      }),
      patched("bool value 2", [](GgufBytes& b, const SmallFileAt& a) {
        b.bytes[a.flag.value] = 2;
        return "('test.flag') value: bool value 2 is not 0 or 1" + at_byte(a.flag.value);
      }),
      patched("nested array", [](GgufBytes& b, const SmallFileAt& a) {
        b.put_u32(a.list.value, 9);
        return "metadata kv 3 ('test.list') value: nested arrays are not supported" + at_byte(a.list.value);
      }),
      patched("unknown array element type", [](GgufBytes& b, const SmallFileAt& a) {
        b.put_u32(a.list.value, 77);
        return "unknown array element type 77" + at_byte(a.list.value);
      }),
      patched("absurd array count", [](GgufBytes& b, const SmallFileAt& a) {
        b.put_u64(a.list.value + 4, uint64_t(1) << 62);
        return "array count 4611686018427387904 of i32 cannot fit" ;
      }),
      patched("duplicate key", [](GgufBytes& b, const SmallFileAt& a) {
        std::memcpy(b.bytes.data() + a.flag.key + 8, "test.list", 9);  // both keys are 9 bytes
        return "metadata kv 3 ('test.list'): duplicate key" + at_byte(a.list.key);
      }),
      patched("alignment not u32", [](GgufBytes& b, const SmallFileAt& a) {
        b.put_u32(a.align.type, 5);  // i32, same size
        return "general.alignment must be u32, found i32" + at_byte(a.align.value);
      }),
      patched("alignment zero", [](GgufBytes& b, const SmallFileAt& a) {
        b.put_u32(a.align.value, 0);
        return "general.alignment 0 is not a non-zero power of two" + at_byte(a.align.value);
      }),
      patched("alignment 48", [](GgufBytes& b, const SmallFileAt& a) {
        b.put_u32(a.align.value, 48);
        return "general.alignment 48 is not a non-zero power of two" + at_byte(a.align.value);
      }),
      patched("unknown tensor type", [](GgufBytes& b, const SmallFileAt& a) {
        b.put_u32(a.t1.type, 99);
        return "tensor info 1 ('tok.weight'): unknown or unsupported tensor type id 99" + at_byte(a.t1.type);
      }),
      {"duplicate tensor name",
       [] {
         GgufBytes b;
         b.header(2, 0);
         b.tensor("w", {8}, 0, 0);
         const size_t at = b.tensor("w", {8}, 0, 32).name;
         b.pad_to(32).zeros(64);
         return Corrupt{b.bytes, "tensor info 1 ('w'): duplicate tensor name" + at_byte(at)};
       }},
      patched("n_dims 7", [](GgufBytes& b, const SmallFileAt& a) {
        b.put_u32(a.t0.n_dims, 7);
        return "t.gguf: tensor info 0 ('blk.0.q.weight'): n_dims 7 > 4" + at_byte(a.t0.n_dims);
      }),
      patched("dim zero", [](GgufBytes& b, const SmallFileAt& a) {
        b.put_u64(a.t1.ne0 + 8, 0);
        return "tensor info 1 ('tok.weight'): ne[1] = 0 is not positive" + at_byte(a.t1.ne0 + 8);
      }),
      patched("dim negative", [](GgufBytes& b, const SmallFileAt& a) {
        b.put_u64(a.t1.ne0, uint64_t(-4));
        return "tensor info 1 ('tok.weight'): ne[0] = -4 is not positive" + at_byte(a.t1.ne0);
      }),
      patched("ne[0] not a block multiple", [](GgufBytes& b, const SmallFileAt& a) {
        b.put_u64(a.t0.ne0, 16);
        return "tensor info 0 ('blk.0.q.weight'): ne[0] = 16 is not a multiple of the Q8_0 block size 32" +
               at_byte(a.t0.ne0);
      }),
      patched("offset not aligned", [](GgufBytes& b, const SmallFileAt& a) {
        b.put_u64(a.t1.offset, 65);
        return "tensor info 1 ('tok.weight'): offset 65 is not a multiple of alignment 32" + at_byte(a.t1.offset);
      }),
      patched("offset not cumulative", [](GgufBytes& b, const SmallFileAt& a) {
        b.put_u64(a.t1.offset, 96);
        return "tensor info 1 ('tok.weight'): offset 96 != expected 64 (tensors must be packed in order)" + at_byte(a.t1.offset);
      }),
      patched("first offset not zero", [](GgufBytes& b, const SmallFileAt& a) {
        b.put_u64(a.t0.offset, 32);
        return "tensor info 0 ('blk.0.q.weight'): offset 32 != expected 0 (tensors must be packed in order)" + at_byte(a.t0.offset);
      }),
      patched("data past end of file", [](GgufBytes& b, const SmallFileAt& a) {
        b.bytes.resize(b.bytes.size() - 1);
        return "tensor info 1 ('tok.weight'): data at offset 64 (32 bytes, file bytes [" +
               std::to_string(a.data_start + 64) + ", " + std::to_string(a.data_start + 96) +
               ")) runs past the end of the file (" + std::to_string(b.bytes.size()) + " bytes)" + at_byte(a.t1.offset);
      }),
      one_tensor("tensor name > 63 bytes", [](GgufBytes& b) {
        const size_t at = b.tensor(std::string(64, 'n'), {4}, 0, 0).name;
        return "tensor info 0 ('" + std::string(64, 'n') + "'): name length 64 > 63" + at_byte(at);
      }),
      one_tensor("element count overflow", [](GgufBytes& b) {
        const size_t at = b.tensor("big", {uint64_t(1) << 32, uint64_t(1) << 31}, 0, 0).ne0 + 8;
        return "tensor info 0 ('big'): element count overflows int64 at ne[1]" + at_byte(at);
      }),
      one_tensor("byte size overflow", [](GgufBytes& b) {
        b.tensor("big", {uint64_t(1) << 62}, 0, 0);
        return std::string("tensor info 0 ('big'): byte size overflows 64 bits");
      }),
      one_tensor("huge tensor past end", [](GgufBytes& b) {
        const size_t at = b.tensor("big", {uint64_t(1) << 40}, 1, 0).offset;
        return "data at offset 0 (2199023255552 bytes, file bytes [64, 2199023255616)) runs past the end of the file"
               " (128 bytes)" + at_byte(at);
      }),
      {"string array element past end",
       [] {
         GgufBytes b;
         b.header(0, 1);
         b.kv("tokenizer.ggml.tokens", 9);
         b.u32(8).u64(2).str("ok");
         const size_t at = b.pos();
         b.u64(999).raw("xy", 2);
         return Corrupt{b.bytes, "metadata kv 0 ('tokenizer.ggml.tokens') value element 1 length 999 exceeds the 2 bytes"
                                 " left in the file" + at_byte(at)};
       }},
      {"names from the file are escaped and cut in messages",
       [] {
         GgufBytes b;
         b.header(0, 2);
         const std::string key = "a\nb'" + std::string(200, 'k');
         b.kv(key, 0);
         b.u8(1);
         const size_t at = b.kv(key, 0).key;
         b.u8(2);
         return Corrupt{b.bytes, "metadata kv 1 ('a\\x0ab\\x27" + std::string(76, 'k') + "...'): duplicate key" +
                                     at_byte(at)};
       }},
      {"truncated header",
       [] {
         GgufBytes b;
         b.raw("GGUF", 4).u32(3).u64(0);
         return Corrupt{b.bytes, "file truncated in header metadata_kv_count (needs 8 bytes, 0 left)" + at_byte(16)};
       }},
  };
  return cases;
}

}  // namespace

TEST_CASE("gguf reader: small valid file", "[gguf]") {
  SmallFileAt at;
  const GgufBytes b = small_valid_file(&at);
  const GgufFile f = parse(b.bytes);
  CHECK(f.path() == "t.gguf");
  CHECK(f.version() == 3);
  CHECK(f.alignment() == 32);
  CHECK(f.data_offset() == at.data_start);
  CHECK(f.file_size() == b.bytes.size());
  CHECK(f.bytes() == b.bytes.data());  // from_memory does not copy
  REQUIRE(f.metadata().size() == 4);
  CHECK(f.metadata()[0].first == "general.architecture");
  CHECK(f.get_string("general.architecture") == "llama");
  CHECK(f.get_int("general.alignment", 0) == 32);
  CHECK(f.get_bool("test.flag", false));
  CHECK(f.get_int("absent", -7) == -7);
  CHECK(f.get_string("absent", "x") == "x");
  CHECK(f.get_float("general.alignment", 0) == 32.0);
  CHECK_THROWS_WITH(f.get_int("general.architecture", 0),
                    Catch::Contains("t.gguf: metadata key 'general.architecture' is string, expected an integer"));
  CHECK_THROWS_AS(f.get_bool("general.alignment", false), kq::Error);
  const kq::GgufValue* list = f.find("test.list");
  REQUIRE(list);
  CHECK(list->elem_type() == GgufType::I32);
  CHECK(list->size() == 3);
  CHECK(list->int_at(2) == -3);
  CHECK(list->to_display() == "[1, 2, -3]");
  CHECK(list->to_display(2) == "[i32 \xC3\x97 3]");

  REQUIRE(f.tensors().size() == 2);
  const kq::GgufTensorInfo* q = f.find_tensor("blk.0.q.weight");
  REQUIRE(q);
  CHECK(q->type == kq::QType::Q8_0);
  CHECK(q->n_dims == 2);
  CHECK(q->ne == std::array<int64_t, 4>{32, 1, 1, 1});
  CHECK(q->nbytes == 34);
  CHECK(q->data == b.bytes.data() + at.data_start);
  const kq::GgufTensorInfo* t = f.find_tensor("tok.weight");
  REQUIRE(t);
  CHECK(t->offset == 64);
  CHECK(t->n_elements() == 8);
  CHECK(t->n_rows() == 2);
  float v[8];
  std::memcpy(v, t->data, sizeof v);
  CHECK(v[7] == 7.0f);
  CHECK(f.find_tensor("nope") == nullptr);
}

TEST_CASE("gguf reader: v2, empty and metadata-only files are valid", "[gguf]") {
  GgufBytes v2 = small_valid_file();
  v2.put_u32(4, 2);
  CHECK(parse(v2.bytes).version() == 2);

  GgufBytes empty;
  empty.header(0, 0);
  const GgufFile e = parse(empty.bytes);
  CHECK(e.metadata().empty());
  CHECK(e.tensors().empty());
  CHECK(e.data_offset() <= e.file_size());

  GgufBytes meta;  // zero tensors, no padding after the metadata: ggml accepts it too
  meta.header(0, 1).kv_str("general.name", "x");
  CHECK(parse(meta.bytes).get_string("general.name") == "x");
}

TEST_CASE("gguf reader: custom alignment places data on its boundary", "[gguf]") {
  GgufBytes b;
  b.header(2, 1).kv_u32("general.alignment", 64);
  b.tensor("a", {3}, 0, 0);
  b.tensor("b", {2}, 0, 64);
  b.pad_to(64).zeros(64 + 8);
  const GgufFile f = parse(b.bytes);
  CHECK(f.alignment() == 64);
  CHECK(f.data_offset() % 64 == 0);
  CHECK(f.tensors()[1].data == b.bytes.data() + f.data_offset() + 64);
}

TEST_CASE("gguf reader: every corrupted file is a kq::Error with field and byte offset", "[gguf]") {
  for (const Case& c : corrupt_cases()) {
    INFO("case: " << c.name);
    const Corrupt k = c.make();
    CHECK_THROWS_WITH(parse(k.bytes), Catch::Contains(k.expect));
  }
}

TEST_CASE("gguf reader: truncation at every byte is a kq::Error", "[gguf]") {
  const GgufBytes b = small_valid_file();
  REQUIRE_NOTHROW(parse(b.bytes));
  for (size_t n = 0; n < b.bytes.size(); ++n) {
    INFO("truncated to " << n << " bytes");
    const std::vector<uint8_t> cut(b.bytes.begin(), b.bytes.begin() + long(n));  // exact size: ASan sees over-reads
    CHECK_THROWS_AS(parse(cut), kq::Error);
  }
}

TEST_CASE("gguf reader: random byte corruption never escapes as anything but kq::Error", "[gguf]") {
  const GgufBytes b = small_valid_file();
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<uint8_t> m = b.bytes;
    const int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; ++k) m[rng() % m.size()] ^= uint8_t(1u << (rng() % 8));
    try {
      const GgufFile f = parse(m);
      for (const auto& kv : f.metadata()) (void)kv.second.to_display();
    } catch (const kq::Error&) {
    }
  }
}

TEST_CASE("gguf reader: open() maps files and reports OS errors with the path", "[gguf]") {
  CHECK_THROWS_WITH(GgufFile::open("/nonexistent/x.gguf"), Catch::Contains("/nonexistent/x.gguf: cannot open"));
  CHECK_THROWS_WITH(GgufFile::open("/tmp"), Catch::Contains("not a regular file"));
}

TEST_CASE("gguf reader: GgufFile moves keep tensor pointers valid", "[gguf]") {
  const GgufBytes b = small_valid_file();
  GgufFile a = parse(b.bytes);
  const uint8_t* data = a.tensors()[0].data;
  GgufFile moved = std::move(a);
  CHECK(moved.tensors()[0].data == data);
  CHECK(moved.find_tensor("tok.weight") != nullptr);
  GgufBytes e;
  e.header(0, 0);
  GgufFile other = parse(e.bytes);
  other = std::move(moved);
  CHECK(other.tensors().size() == 2);
}

// Tests for the GGUF writer: lossless round trips, byte-identical rewrites, layout, atomicity.
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/error.h"
#include "formats/gguf.h"
#include "tests/support/testdata.h"

using kq::GgufFile;
using kq::GgufType;
using kq::GgufValue;
using kq::GgufWriter;
using kq::QType;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string scratch(const std::string& name) { return kq::test::scratch_dir() + "/" + name; }

// Lists every entry of the scratch dir whose name starts with `prefix` (finds leftover temp files).
std::vector<std::string> entries_starting_with(const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kq::test::scratch_dir()))
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path().filename().string());
  return out;
}

template <typename T>
GgufValue array_of(GgufType t, const std::vector<T>& v) {
  std::vector<uint8_t> raw(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(raw.data(), v.data(), raw.size());
  return GgufValue::numeric_array(t, v.size(), std::move(raw));
}

// Every scalar type, arrays of every element type (incl. empty and string arrays).
void set_all_value_types(GgufWriter& w) {
  w.set("general.architecture", GgufValue::string("llama"));
  w.set("v.u8", GgufValue::u8(250));
  w.set("v.i8", GgufValue::i8(-120));
  w.set("v.u16", GgufValue::u16(65000));
  w.set("v.i16", GgufValue::i16(-32000));
  w.set("v.u32", GgufValue::u32(4000000000u));
  w.set("v.i32", GgufValue::i32(-2000000000));
  w.set("v.f32", GgufValue::f32(1e-5f));
  w.set("v.bool", GgufValue::boolean(true));
  w.set("v.string", GgufValue::string(std::string("multi\nline \xE2\x96\x81 utf8\0zero", 22)));
  w.set("v.empty_string", GgufValue::string(""));
  w.set("v.u64", GgufValue::u64(~uint64_t(0)));
  w.set("v.i64", GgufValue::i64(INT64_MIN));
  w.set("v.f64", GgufValue::f64(-2.5e300));
  w.set("a.u8", array_of<uint8_t>(GgufType::U8, {0, 1, 255}));
  w.set("a.i8", array_of<int8_t>(GgufType::I8, {-128, 0, 127}));
  w.set("a.u16", array_of<uint16_t>(GgufType::U16, {1, 65535}));
  w.set("a.i16", array_of<int16_t>(GgufType::I16, {-1, 2}));
  w.set("a.u32", GgufValue::u32_array({1, 2, 3}));
  w.set("a.i32", GgufValue::i32_array({-1, 0, 1}));
  w.set("a.f32", GgufValue::f32_array({0.5f, -0.25f}));
  w.set("a.bool", array_of<uint8_t>(GgufType::BOOL, {1, 0, 1}));
  w.set("a.string", GgufValue::string_array({"a", "", "\xE2\x96\x81hello"}));
  w.set("a.u64", array_of<uint64_t>(GgufType::U64, {~uint64_t(0)}));
  w.set("a.i64", array_of<int64_t>(GgufType::I64, {INT64_MIN, 5}));
  w.set("a.f64", array_of<double>(GgufType::F64, {3.25}));
  w.set("a.empty_i32", GgufValue::i32_array({}));
  w.set("a.empty_string", GgufValue::string_array({}));
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(seed + i * 7);
  return v;
}

// Rewrites `f` into `path` by copying its metadata and pointing at its mapped tensors.
void rewrite(const GgufFile& f, const std::string& path) {
  GgufWriter w;
  w.copy_metadata(f);
  for (const auto& t : f.tensors())
    w.add_tensor(t.name, t.type, std::vector<int64_t>(t.ne.begin(), t.ne.begin() + t.n_dims), t.data);
  w.write(path);
}

void check_same_contents(const GgufFile& a, const GgufFile& b) {
  REQUIRE(a.metadata() == b.metadata());
  REQUIRE(a.tensors().size() == b.tensors().size());
  for (size_t i = 0; i < a.tensors().size(); ++i) {
    const auto& x = a.tensors()[i];
    const auto& y = b.tensors()[i];
    INFO("tensor " << x.name);
    CHECK(x.name == y.name);
    CHECK(x.type == y.type);
    CHECK(x.ne == y.ne);
    CHECK(x.n_dims == y.n_dims);
    REQUIRE(x.nbytes == y.nbytes);
    CHECK(std::memcmp(x.data, y.data, x.nbytes) == 0);
  }
}

}  // namespace

TEST_CASE("gguf writer: round trip keeps every value type and tensor byte", "[gguf]") {
  GgufWriter w;
  set_all_value_types(w);
  const auto f32 = pattern(4 * 3 * 4, 1);     // F32 [4, 3]
  const auto q4k = pattern(144 * 2, 2);       // Q4_K [256, 2]
  const auto bf16 = pattern(2 * 5 * 2 * 2, 3);  // BF16 [5, 2, 2]
  w.add_tensor("f32", QType::F32, {4, 3}, f32.data());
  w.add_tensor("blk.0.q4k", QType::Q4_K, {256, 2}, q4k.data());
  w.add_tensor("bf16.4d", QType::BF16, {5, 2, 2, 1}, bf16.data());
  int produced = 0;
  w.add_tensor("produced.q8_0", QType::Q8_0, {64}, [&](uint8_t* dst, size_t n) {
    ++produced;
    REQUIRE(n == 68);
    const auto p = pattern(n, 9);
    std::memcpy(dst, p.data(), n);
  });
  const std::string path = scratch("roundtrip.gguf");
  w.write(path);
  CHECK(produced == 1);

  const GgufFile f = GgufFile::open(path);
  CHECK(f.version() == 3);
  REQUIRE(f.metadata().size() == 28);
  for (const auto& [k, v] : f.metadata()) {  // same order, same values
    INFO(k);
    REQUIRE(w.find(k));
    CHECK(*w.find(k) == v);
  }
  CHECK(f.find("v.u64")->as_uint() == ~uint64_t(0));
  CHECK(f.find("v.i64")->as_int() == INT64_MIN);
  CHECK(f.find("v.f32")->as_float() == double(1e-5f));
  CHECK(f.find("a.string")->string_at(2) == "\xE2\x96\x81hello");
  CHECK_THROWS_AS(f.find("a.bool")->int_at(0), kq::Error);  // bool arrays are not integers
  CHECK(f.find("a.bool")->raw() == std::vector<uint8_t>{1, 0, 1});
  CHECK(f.find("v.string")->as_string().size() == 22);
  CHECK(f.find("a.f64")->float_at(0) == 3.25);

  REQUIRE(f.tensors().size() == 4);
  CHECK(std::memcmp(f.find_tensor("f32")->data, f32.data(), f32.size()) == 0);
  CHECK(std::memcmp(f.find_tensor("blk.0.q4k")->data, q4k.data(), q4k.size()) == 0);
  CHECK(f.find_tensor("bf16.4d")->ne == std::array<int64_t, 4>{5, 2, 2, 1});
  CHECK(f.find_tensor("bf16.4d")->n_dims == 4);
  CHECK(std::memcmp(f.find_tensor("produced.q8_0")->data, pattern(68, 9).data(), 68) == 0);
  for (const auto& t : f.tensors()) CHECK((f.data_offset() + t.offset) % 32 == 0);
  CHECK(f.file_size() % 32 == 0);  // the last tensor is padded too

  // Second generation: read -> write gives a byte-identical file.
  const std::string path2 = scratch("roundtrip2.gguf");
  rewrite(f, path2);
  CHECK(slurp(path) == slurp(path2));
  check_same_contents(f, GgufFile::open(path2));
}

TEST_CASE("gguf writer: general.alignment sets the layout, padding is zeros", "[gguf]") {
  GgufWriter w;
  w.set("general.alignment", GgufValue::u32(128));
  const auto a = pattern(14, 4);  // "a" uses 12 bytes, "b" 14
  w.add_tensor("a", QType::F32, {3}, a.data());
  w.add_tensor("b", QType::F16, {7}, a.data());
  const std::string path = scratch("align128.gguf");
  w.write(path);
  const GgufFile f = GgufFile::open(path);
  CHECK(f.alignment() == 128);
  CHECK(f.data_offset() % 128 == 0);
  CHECK(f.tensors()[1].offset == 128);
  CHECK(f.file_size() == f.data_offset() + 256);
  for (uint64_t i = 12; i < 128; ++i) CHECK(f.tensors()[0].data[i] == 0);
  for (uint64_t i = f.data_offset() + 128 + 14; i < f.file_size(); ++i) CHECK(f.bytes()[i] == 0);

  GgufWriter bad;
  bad.set("general.alignment", GgufValue::u32(24));
  CHECK_THROWS_WITH(bad.write(scratch("bad-align.gguf")), Catch::Contains("not a non-zero power of two"));
  bad.set("general.alignment", GgufValue::u64(32));
  CHECK_THROWS_WITH(bad.write(scratch("bad-align.gguf")), Catch::Contains("general.alignment must be u32"));
  CHECK(entries_starting_with("bad-align.gguf").empty());
}

TEST_CASE("gguf writer: empty file and metadata edits", "[gguf]") {
  GgufWriter w;
  w.set("a", GgufValue::u32(1));
  w.set("b", GgufValue::u32(2));
  w.set("a", GgufValue::string("replaced"));  // keeps position 0
  w.set("c", GgufValue::boolean(false));
  w.remove("b");
  w.remove("not-there");
  const std::string path = scratch("meta-only.gguf");
  w.write(path);
  const GgufFile f = GgufFile::open(path);
  REQUIRE(f.metadata().size() == 2);
  CHECK(f.metadata()[0].first == "a");
  CHECK(f.get_string("a") == "replaced");
  CHECK(f.get_bool("c", true) == false);
  CHECK(f.tensors().empty());

  GgufWriter none;
  none.write(scratch("empty.gguf"));
  CHECK(GgufFile::open(scratch("empty.gguf")).metadata().empty());
}

TEST_CASE("gguf writer: rejects bad tensors when they are added", "[gguf]") {
  GgufWriter w;
  const float x[64] = {};
  CHECK_THROWS_WITH(w.add_tensor("q", QType::Q4_K, {128}, x), Catch::Contains("tensor 'q': row of 128 elements"));
  CHECK_THROWS_WITH(w.add_tensor(std::string(64, 'n'), QType::F32, {1}, x), Catch::Contains("name length 64 > 63"));
  CHECK_THROWS_WITH(w.add_tensor("z", QType::F32, {4, 0}, x), Catch::Contains("ne[1] = 0 is not positive"));
  CHECK_THROWS_WITH(w.add_tensor("d", QType::F32, {1, 1, 1, 1, 1}, x), Catch::Contains("n_dims 5"));
  CHECK_THROWS_WITH(w.add_tensor("o", QType::F32, {int64_t(1) << 40, int64_t(1) << 40}, x),
                    Catch::Contains("element count overflows"));
  w.add_tensor("ok", QType::F32, {4}, x);
  CHECK_THROWS_WITH(w.add_tensor("ok", QType::F32, {4}, x), Catch::Contains("duplicate tensor name"));
}

TEST_CASE("gguf writer: failures leave neither the final file nor a temp file", "[gguf]") {
  GgufWriter w;
  w.set("general.architecture", GgufValue::string("llama"));
  const float x[4] = {1, 2, 3, 4};
  w.add_tensor("x", QType::F32, {4}, x);
  CHECK_THROWS_WITH(w.write(scratch("no-such-dir/out.gguf")), Catch::Contains("out.gguf: cannot create temp file"));
  CHECK_FALSE(fs::exists(scratch("no-such-dir")));

  w.add_tensor("boom", QType::F32, {4}, [](uint8_t*, size_t) { throw kq::Error("producer failed"); });
  CHECK_THROWS_WITH(w.write(scratch("atomic.gguf")), Catch::Contains("producer failed"));
  CHECK(entries_starting_with("atomic.gguf").empty());

  // A failed rewrite does not clobber an existing good file.
  GgufWriter good;
  good.add_tensor("x", QType::F32, {4}, x);
  good.write(scratch("atomic.gguf"));
  const auto before = slurp(scratch("atomic.gguf"));
  CHECK_THROWS_AS(w.write(scratch("atomic.gguf")), kq::Error);
  CHECK(slurp(scratch("atomic.gguf")) == before);
  CHECK(entries_starting_with("atomic.gguf") == std::vector<std::string>{"atomic.gguf"});
}

TEST_CASE("gguf: stories260K facts", "[gguf]") {
  const GgufFile f = GgufFile::open(kq::test::testdata_file("stories260K.gguf"));
  CHECK(f.get_string("general.architecture") == "llama");
  CHECK(f.tensors().size() == 48);
  const kq::GgufTensorInfo* emb = f.find_tensor("token_embd.weight");
  REQUIRE(emb);
  CHECK(emb->n_dims == 2);
  CHECK(emb->ne[0] == 64);
  CHECK(emb->ne[1] == 512);
  CHECK(f.find("tokenizer.ggml.tokens")->size() == 512);
  CHECK(f.get_int("llama.block_count", 0) == 5);
  for (const auto& t : f.tensors()) CHECK(t.data + t.nbytes <= f.bytes() + f.file_size());
}

TEST_CASE("gguf: rewriting a real file keeps metadata and tensor bytes", "[gguf]") {
  const std::string orig = kq::test::testdata_file("stories260K.gguf");
  const GgufFile f = GgufFile::open(orig);
  const std::string path = scratch("stories-rewrite.gguf");
  rewrite(f, path);
  const GgufFile g = GgufFile::open(path);
  check_same_contents(f, g);
  // The file came from llama.cpp's writer; the same layout rules give the same bytes.
  CHECK(slurp(path) == slurp(orig));
  const std::string path2 = scratch("stories-rewrite2.gguf");
  rewrite(g, path2);
  CHECK(slurp(path) == slurp(path2));
}

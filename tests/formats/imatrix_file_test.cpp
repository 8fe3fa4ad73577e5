// formats/imatrix_file: the GGUF imatrix writer against the GGUF reader and the raw layout llama-imatrix writes.
#include "formats/imatrix_file.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "formats/gguf.h"
#include "tests/support/testdata.h"

namespace {

std::string scratch(const std::string& name) {
  return kq::test::scratch_dir() + "/" + name;
}

kq::ImatrixSums sample_sums() {
  kq::ImatrixSums s;
  s.datasets = {"calibration.txt"};
  s.chunk_count = 3;
  s.chunk_size = 64;
  auto& q = s.entries["blk.0.attn_q.weight"];
  for (int k = 0; k < 8; ++k) q.in_sum2.push_back(0.5f * float(k * k) + 0.25f);
  q.counts = {192.0f};
  // Two matrices (experts) of 4 columns; the second saw no tokens.
  auto& e = s.entries["blk.1.ffn_down_exps.weight"];
  e.in_sum2 = {3, 6, 9, 12, 0, 0, 0, 0};
  e.counts = {3.0f, 0.0f};
  return s;
}

}  // namespace

TEST_CASE("imatrix GGUF: write then read gives in_sum2 / counts per column", "[formats]") {
  const std::string path = scratch("roundtrip.imatrix.gguf");
  write_imatrix_gguf(sample_sums(), path);

  const kq::Imatrix m = kq::load_imatrix(path);  // told apart from .dat by the magic
  CHECK(m.chunks == 3);
  CHECK(m.dataset == "calibration.txt");
  REQUIRE(m.entries.size() == 2);
  const std::vector<float>& q = m.entries.at("blk.0.attn_q.weight");
  REQUIRE(q.size() == 8);
  for (int k = 0; k < 8; ++k) CHECK(q[size_t(k)] == (0.5f * float(k * k) + 0.25f) / 192.0f);
  // A matrix that saw no tokens gets equal weights (1), as the reader documents.
  CHECK(m.entries.at("blk.1.ffn_down_exps.weight") == std::vector<float>{1, 2, 3, 4, 1, 1, 1, 1});
}

TEST_CASE("imatrix GGUF: the file has llama-imatrix's keys, names and shapes", "[formats]") {
  const std::string path = scratch("layout.imatrix.gguf");
  write_imatrix_gguf(sample_sums(), path);
  const kq::GgufFile f = kq::GgufFile::open(path);
  CHECK(f.find("general.architecture") == nullptr);
  CHECK(f.get_string("general.type") == "imatrix");
  const kq::GgufValue* d = f.find("imatrix.datasets");
  REQUIRE(d);
  REQUIRE(d->is_array());
  CHECK(d->strings() == std::vector<std::string>{"calibration.txt"});
  CHECK(f.find("imatrix.chunk_count")->type() == kq::GgufType::U32);
  CHECK(f.get_int("imatrix.chunk_count", -1) == 3);
  CHECK(f.find("imatrix.chunk_size")->type() == kq::GgufType::U32);
  CHECK(f.get_int("imatrix.chunk_size", -1) == 64);

  // Sorted by weight name, sums then counts; in_sum2 is [n_cols, n_mat], counts [1, n_mat].
  REQUIRE(f.tensors().size() == 4);
  const auto& t = f.tensors();
  CHECK(t[0].name == "blk.0.attn_q.weight.in_sum2");
  CHECK(t[1].name == "blk.0.attn_q.weight.counts");
  CHECK(t[2].name == "blk.1.ffn_down_exps.weight.in_sum2");
  CHECK(t[3].name == "blk.1.ffn_down_exps.weight.counts");
  for (const kq::GgufTensorInfo& x : t) CHECK(x.type == kq::QType::F32);
  CHECK((t[0].n_dims == 2 && t[0].ne[0] == 8 && t[0].ne[1] == 1));
  CHECK((t[1].n_dims == 2 && t[1].ne[0] == 1 && t[1].ne[1] == 1));
  CHECK((t[2].ne[0] == 4 && t[2].ne[1] == 2));
  CHECK((t[3].ne[0] == 1 && t[3].ne[1] == 2));
  float sums[8], counts[2];
  std::memcpy(sums, t[2].data, sizeof sums);
  std::memcpy(counts, t[3].data, sizeof counts);
  CHECK(sums[3] == 12.0f);  // raw sums, not divided
  CHECK(counts[0] == 3.0f);
  CHECK(counts[1] == 0.0f);
}

TEST_CASE("imatrix GGUF: inconsistent entries and unreadable files are errors", "[formats]") {
  kq::ImatrixSums bad = sample_sums();
  bad.entries["blk.2.attn_k.weight"] = {{1, 2, 3}, {1.0f, 1.0f}};  // 3 sums cannot split over 2 matrices
  CHECK_THROWS_WITH(write_imatrix_gguf(bad, scratch("bad.imatrix.gguf")),
                    Catch::Contains("blk.2.attn_k.weight") && Catch::Contains("3 sums for 2 counts"));
  CHECK_THROWS_AS(kq::load_imatrix(scratch("does-not-exist.imatrix")), kq::Error);
  const std::string empty = scratch("empty.imatrix.gguf");
  kq::ImatrixSums none;
  write_imatrix_gguf(none, empty);
  CHECK_THROWS_WITH(kq::load_imatrix(empty), Catch::Contains("no entries"));
}

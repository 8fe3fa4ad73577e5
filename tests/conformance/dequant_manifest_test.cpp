// Conformance: kq's dequantization and quantizers against llama.cpp's files and testdata/quant/manifest.json.
//
// Dequantization must be bit-exact (sha256 of the float32 output, as gguf-py computed it); the
// quantizers must be at least as accurate as llama-quantize's on the same f32 weights.
#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/sha256.h"
#include "formats/gguf.h"
#include "quant/registry.h"
#include "tests/support/testdata.h"

namespace {

using kq::GgufFile;
using kq::GgufTensorInfo;
using kq::TypeTraits;

const kq::json::Value& manifest() {
  static const kq::json::Value m = [] {
    std::ifstream in(kq::test::testdata_file("quant/manifest.json"), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return kq::json::parse(ss.str());
  }();
  return m;
}

// Dequantizes one row of a tensor (row r of n_rows, ne[0] elements) through the registry.
void dequantize_row(const GgufTensorInfo& t, int64_t r, float* out) {
  const TypeTraits& tt = kq::type_traits(t.type);
  const size_t row_bytes = kq::row_size(t.type, t.ne[0]);
  tt.to_float(t.data + size_t(r) * row_bytes, out, t.ne[0]);
}

// Checks the tensor's type and shape against its manifest entry.
void check_shape(const GgufTensorInfo& t, const kq::json::Value& want) {
  REQUIRE(std::string(kq::type_name(t.type)) == want.at("type").as_string());
  const auto& ne = want.at("ne").items();
  REQUIRE(t.n_dims == ne.size());
  for (size_t d = 0; d < ne.size(); ++d) REQUIRE(t.ne[d] == ne[d].as_int());
}

std::string sha256_of_floats(const std::vector<float>& v) {
  kq::Sha256 h;
  if constexpr (std::endian::native == std::endian::little) {
    h.update(v.data(), v.size() * sizeof(float));
  } else {
    for (float f : v) {  // the manifest hashes little-endian bytes
      const uint32_t u = std::bit_cast<uint32_t>(f);
      const uint8_t b[4] = {uint8_t(u), uint8_t(u >> 8), uint8_t(u >> 16), uint8_t(u >> 24)};
      h.update(b, 4);
    }
  }
  return h.hex_digest();
}

std::vector<float> dequantize_tensor(const GgufTensorInfo& t) {
  std::vector<float> out(size_t(t.n_elements()));
  for (int64_t r = 0; r < t.n_rows(); ++r) dequantize_row(t, r, out.data() + size_t(r) * size_t(t.ne[0]));
  return out;
}

}  // namespace

TEST_CASE("conformance: dequantized tensors hash as in the manifest", "[conformance]") {
  for (const auto& [file, tensors] : manifest().members()) {
    DYNAMIC_SECTION(file) {
      const GgufFile g = GgufFile::open(kq::test::testdata_file("quant/" + file));
      REQUIRE(g.tensors().size() == tensors.size());  // nothing unlisted either
      for (const auto& [name, want] : tensors.members()) {
        INFO(file << ": " << name);
        const GgufTensorInfo* t = g.find_tensor(name);
        REQUIRE(t != nullptr);
        check_shape(*t, want);
        REQUIRE(sha256_of_floats(dequantize_tensor(*t)) == want.at("sha256_f32").as_string());
      }
    }
  }
}

TEST_CASE("conformance: kq quantizers are at least as accurate as llama.cpp", "[conformance]") {
  // Without an imatrix, llama-quantize --pure applies the reference quantizer to every row, so kq's
  // from_float (null importance) faces the same task. 1% slack: summation order; 1e-9 absolute:
  // tensors kept in F32 have rmse 0.
  static bool header = false;
  for (const auto& [file, tensors] : manifest().members()) {
    if (file.rfind("synth-tiny-pure-", 0) != 0) continue;
    DYNAMIC_SECTION(file) {
      const GgufFile src = GgufFile::open(kq::test::testdata_file("quant/synth-tiny-f32.gguf"));
      const GgufFile ref = GgufFile::open(kq::test::testdata_file("quant/" + file));
      int n_quant = 0, same_bytes = 0, n_worse = 0;
      double kq_sse = 0, ll_sse = 0, count = 0, worst = 0;
      std::string type;
      for (const auto& [name, want] : tensors.members()) {
        INFO(file << ": " << name);
        const GgufTensorInfo* s = src.find_tensor(name);
        REQUIRE(s != nullptr);
        const kq::TypeTraits* tt = kq::find_type(std::string_view(want.at("type").as_string()));
        REQUIRE(tt != nullptr);
        const std::vector<float> x = dequantize_tensor(*s);  // the f32 weights
        const size_t row_bytes = kq::row_size(tt->type, s->ne[0]);
        std::vector<uint8_t> q(row_bytes * size_t(s->n_rows()));
        std::vector<float> y(x.size());
        for (int64_t r = 0; r < s->n_rows(); ++r) {
          const size_t off = size_t(r) * size_t(s->ne[0]);
          tt->from_float(x.data() + off, q.data() + size_t(r) * row_bytes, s->ne[0], nullptr);
          tt->to_float(q.data() + size_t(r) * row_bytes, y.data() + off, s->ne[0]);
        }
        double sse = 0;
        for (size_t i = 0; i < x.size(); ++i) sse += std::pow(double(x[i]) - double(y[i]), 2);
        const double rmse = std::sqrt(sse / double(x.size()));
        const double ll_rmse = want.at("rmse").as_number();
        INFO("kq rmse " << rmse << ", llama.cpp rmse " << ll_rmse);
        CHECK(rmse <= ll_rmse * 1.01 + 1e-9);
        if (!(rmse <= ll_rmse * 1.01 + 1e-9)) ++n_worse;
        // The stored type's tensors make the table row; the 1-D norms stay F32 in every file.
        if (tt->type != kq::QType::F32) {
          type = tt->name;
          ++n_quant;
          kq_sse += sse;
          ll_sse += ll_rmse * ll_rmse * double(x.size());
          count += double(x.size());
          worst = std::max(worst, ll_rmse > 0 ? rmse / ll_rmse : 0.0);
          // Evidence beyond the rule: is kq's output llama.cpp's, byte for byte?
          const GgufTensorInfo* r = ref.find_tensor(name);
          if (r && r->type == tt->type && r->nbytes == q.size() && std::memcmp(r->data, q.data(), q.size()) == 0)
            ++same_bytes;
        }
      }
      if (!header) {
        std::printf("\n%-30s %-7s %12s %12s %7s %8s %11s\n", "file", "type", "kq rmse", "llama rmse", "ratio", "worst",
                    "same bytes");
        header = true;
      }
      const double kq_r = count > 0 ? std::sqrt(kq_sse / count) : 0.0;
      const double ll_r = count > 0 ? std::sqrt(ll_sse / count) : 0.0;
      std::printf("%-30s %-7s %12.6g %12.6g %7.4f %8.4f %5d/%-5d%s\n", file.c_str(), type.c_str(), kq_r, ll_r,
                  ll_r > 0 ? kq_r / ll_r : 1.0, worst, same_bytes, n_quant, n_worse ? "  WORSE" : "");
      std::fflush(stdout);
    }
  }
}

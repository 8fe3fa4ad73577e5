// Tests for runtime/membw: the bandwidth probe's contract and the per-token byte count of a decode step.
#include "runtime/membw.h"

#include <catch2/catch.hpp>

#include "common/error.h"
#include "runtime/model.h"
#include "runtime/synthetic_model.h"

TEST_CASE("the read-bandwidth probe reports one positive rate per thread count", "[membw]") {
  const std::vector<kq::MembwResult> bw = kq::measure_read_bandwidth({1, 2}, size_t(8) << 20, 2);
  REQUIRE(bw.size() == 2);
  CHECK(bw[0].n_threads == 1);
  CHECK(bw[1].n_threads == 2);
  for (const kq::MembwResult& b : bw) {
    CHECK(b.gb_per_s > 0);
    CHECK(b.gb_per_s < 1e5);  // 100 TB/s would mean the loads were optimized away
  }
  CHECK_THROWS_AS(kq::measure_read_bandwidth({0}, size_t(1) << 20, 1), kq::Error);
}

TEST_CASE("a decode step reads every matmul weight, one embedding row and the KV cache", "[membw]") {
  kq::SyntheticOptions o;
  o.file_type = kq::FileType::kQ8_0;
  const auto model = kq::build_synthetic_model(
      kq::parse_synthetic_shape("dim=64,layers=2,heads=4,kv_heads=2,ff=128,vocab=96"), o);
  // Q8_0: 34 bytes per 32 values. Per layer q, o: 64×64; k, v: 64×32; gate, up, down: 64×128.
  const double q8 = 34.0 / 32.0;
  const double layer = q8 * (2 * 64 * 64 + 2 * 64 * 32 + 3 * 64 * 128);
  const double output = q8 * 64 * 96, embd_row = q8 * 64;
  CHECK(kq::decode_bytes_per_token(*model, 0) == Approx(2 * layer + output + embd_row));
  // F16 cache: per layer and position, 2 KV heads × (16 keys + 16 values) × 2 bytes.
  const double kv = 2 * 2 * (16 + 16) * 2.0;
  CHECK(kq::decode_bytes_per_token(*model, 10, kq::QType::F16) == Approx(2 * layer + output + embd_row + 10 * kv));
  CHECK(kq::decode_bytes_per_token(*model, 10, kq::QType::F32) == Approx(2 * layer + output + embd_row + 20 * kv));
}

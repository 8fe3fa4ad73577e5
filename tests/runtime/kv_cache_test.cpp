// Tests for runtime/kv_cache: batched stores equal per-token stores, layouts and roundings per cache type.
#include "runtime/kv_cache.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <vector>

#include "common/fp16.h"
#include "quant/kernels.h"

TEST_CASE("kv cache: a batched store writes what per-token stores write", "[model]") {
  const int layers = 2, n_ctx = 40, hkv = 3, d = 32, n = 17, pos = 5;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  std::vector<float> k(size_t(n) * hkv * d), v(size_t(n) * hkv * d);
  for (float& x : k) x = nd(rng);
  for (float& x : v) x = nd(rng);
  for (const kq::QType type : {kq::QType::F32, kq::QType::F16, kq::QType::Q8_0}) {
    INFO(kq::type_name(type));
    kq::KvCache one(layers, n_ctx, hkv, d, d, type), batch(layers, n_ctx, hkv, d, d, type);
    for (int t = 0; t < n; ++t) one.store(1, pos + t, k.data() + size_t(t) * hkv * d, v.data() + size_t(t) * hkv * d);
    batch.store(1, pos, n, k.data(), v.data());
    const size_t k_bytes = kq::row_size(type, d);
    for (int p = 0; p < n_ctx; ++p)
      for (int h = 0; h < hkv; ++h) {
        CHECK(std::memcmp(one.k_row(1, p, h), batch.k_row(1, p, h), k_bytes) == 0);
        if (!one.v_transposed()) CHECK(std::memcmp(one.v_row(1, p, h), batch.v_row(1, p, h), k_bytes) == 0);
      }
    if (one.v_transposed()) {
      const size_t esz = kq::type_traits(type).type_size;
      for (int c = 0; c < hkv * d; ++c) {
        CHECK(std::memcmp(one.v_channel(1, c), batch.v_channel(1, c), esz * n_ctx) == 0);
        // Element (channel c, position pos + t) is value c of token t, rounded to the cache type.
        for (int t = 0; t < n; ++t) {
          const float x = v[size_t(t) * hkv * d + size_t(c)];
          const uint8_t* e = batch.v_channel(1, c) + size_t(pos + t) * esz;
          if (type == kq::QType::F16) {
            uint16_t h;
            std::memcpy(&h, e, 2);
            CHECK(h == kq::fp32_to_fp16(x));
          } else {
            float f;
            std::memcpy(&f, e, 4);
            CHECK(f == x);
          }
        }
      }
    }
    // Layer 0 is untouched.
    for (int p = 0; p < n_ctx; ++p)
      for (size_t b = 0; b < k_bytes; ++b) CHECK(batch.k_row(0, p, 0)[b] == 0);
    CHECK(batch.k_pos_stride() == size_t(hkv) * k_bytes);
    CHECK(batch.k_row(1, pos + 1, 2) == batch.k_row(1, pos, 2) + batch.k_pos_stride());
  }
}

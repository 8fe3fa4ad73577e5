// Helpers shared by the k-quant scalar references: row-length checks, Q4_K/Q5_K 6-bit scale packing,
// and the Q4_K/Q5_K row loops (dequantize, quantize around the batched search, dot with Q8_K).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "common/error.h"
#include "common/fp16.h"
#include "quant/q8_k.h"

namespace kq {

constexpr int64_t kSuperBlock = 256;  // elements per k-quant super-block

// Returns the number of 256-element super-blocks in a row of n values; a partial block is an error.
inline int64_t k_blocks(int64_t n, const char* who) {
  if (n < 0 || n % kSuperBlock != 0) {
    throw Error(std::string(who) + ": row length " + std::to_string(n) + " is not a multiple of 256");
  }
  return n / kSuperBlock;
}

// Reads the 6-bit scale and min of sub-block j (0..7) from the 12-byte Q4_K/Q5_K scales field.
inline void get_scale_min_k4(int j, const uint8_t* b, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = b[j] & 63;
    *m = b[j + 4] & 63;
  } else {
    // Low nibbles live in b[8..11]; the top two bits ride in the spare bits 6-7 of b[0..7].
    *sc = uint8_t((b[j + 4] & 0x0F) | ((b[j - 4] >> 6) << 4));
    *m = uint8_t((b[j + 4] >> 4) | ((b[j] >> 6) << 4));
  }
}

// Packs eight 6-bit scales and mins (each 0..63) into the 12-byte Q4_K/Q5_K scales field.
inline void set_scales_mins_k4(const uint8_t* ls, const uint8_t* lm, uint8_t* b) {
  for (int j = 0; j < 4; ++j) {
    b[j] = ls[j];
    b[j + 4] = lm[j];
  }
  for (int j = 4; j < 8; ++j) {
    b[j + 4] = uint8_t((ls[j] & 0x0F) | ((lm[j] & 0x0F) << 4));
    b[j - 4] = uint8_t(b[j - 4] | ((ls[j] >> 4) << 6));
    b[j] = uint8_t(b[j] | ((lm[j] >> 4) << 6));
  }
}

// Reads the 6-bit scale u_j (0..63, stored with offset 32) of sub-block j (0..15) of a Q3_K block.
inline int get_scale_q3k(int j, const uint8_t* b) {
  const int low = j < 8 ? (b[j] & 0x0F) : (b[j - 8] >> 4);
  const int high = (b[8 + j % 4] >> (2 * (j / 4))) & 3;
  return low | (high << 4);
}

// Packs sixteen 6-bit values (0..63) into the 12-byte Q3_K scales field.
inline void set_scales_q3k(const uint8_t* u, uint8_t* b) {
  for (int k = 0; k < 12; ++k) b[k] = 0;
  for (int j = 0; j < 16; ++j) {
    if (j < 8) {
      b[j] = uint8_t(b[j] | (u[j] & 0x0F));
    } else {
      b[j - 8] = uint8_t(b[j - 8] | ((u[j] & 0x0F) << 4));
    }
    b[8 + j % 4] = uint8_t(b[8 + j % 4] | ((u[j] >> 4) << (2 * (j / 4))));
  }
}

// The fitted fields of one Q4_K / Q5_K block before packing: the 12-byte scales field, the f16
// d / dmin, and the final levels (0..nmax) in element order.
struct K4Fit {
  uint8_t scales[12];
  uint16_t d;
  uint16_t dmin;
  uint8_t levels[256];
};

// Most blocks one quantize_k4_blocks call fits: their 8·count sub-blocks share one batched search,
// so the 16-lane searches fill their lanes.
constexpr int kK4MaxBlocks = 2;

// Quantizes `count` (1..kK4MaxBlocks) consecutive 256-value blocks for Q4_K / Q5_K (8 sub-blocks
// of 32 each, levels 0..nmax) into fits[0..count). qw is null (Ref recipe, search parameters
// rmin/rdelta/nstep) or the blocks' 256·count importance values (IM recipe). Each block's result
// does not depend on the block searched beside it.
void quantize_k4_blocks(int count, const float* x, const float* qw, int nmax, float rmin, float rdelta, int nstep,
                        K4Fit* fits);

// Packs the low 4 bits of 256 Q4_K / Q5_K levels: sub-blocks 2c and 2c+1 share bytes 32c..32c+31
// (low, then high nibbles).
template <class Level>
inline void pack_k4_nibbles(const Level* levels, uint8_t* qs) {
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l)
      qs[32 * c + l] = uint8_t((levels[64 * c + l] & 0x0F) | ((levels[64 * c + l + 32] & 0x0F) << 4));
}

// Packs bit 4 of 256 Q5_K levels (0..31): element e sets bit e / 32 of qh[e % 32].
template <class Level>
inline void pack_q5_k_high_bits(const Level* levels, uint8_t* qh) {
  std::memset(qh, 0, 32);
  for (int e = 0; e < 256; ++e)
    if (levels[e] > 15) qh[e % 32] = uint8_t(qh[e % 32] | (1u << (e / 32)));
}

// The Q4_K / Q5_K row quantizer around quantize_k4_blocks: kK4MaxBlocks blocks per search call,
// then each block's scales, d and dmin, and pack_levels(levels, block) for its level bits.
template <class Block, class PackLevels>
void quantize_k4_row(const float* src, Block* blocks, int64_t nb, const float* importance, int nmax, float rmin,
                     float rdelta, int nstep, PackLevels pack_levels) {
  for (int64_t ib = 0; ib < nb; ib += kK4MaxBlocks) {
    const int count = int(std::min<int64_t>(kK4MaxBlocks, nb - ib));
    K4Fit fits[kK4MaxBlocks];
    quantize_k4_blocks(count, src + ib * 256, importance ? importance + ib * 256 : nullptr, nmax, rmin, rdelta, nstep,
                       fits);
    for (int k = 0; k < count; ++k) {
      Block& b = blocks[ib + k];
      std::memcpy(b.scales, fits[k].scales, sizeof b.scales);
      b.d = fits[k].d;
      b.dmin = fits[k].dmin;
      pack_levels(fits[k].levels, b);
    }
  }
}

// The Q4_K / Q5_K row dequantizer: element e of block b is (d·sc)·level(b, e) − dmin·m with its
// sub-block's 6-bit scale and min, the products in ggml's order.
template <class Block, class LevelOf>
void dequantize_k4_row(const Block* blocks, int64_t nb, float* dst, LevelOf level) {
  for (int64_t ib = 0; ib < nb; ++ib) {
    const Block& b = blocks[ib];
    const float d = fp16_to_fp32(b.d);
    const float dmin = fp16_to_fp32(b.dmin);
    float* y = dst + ib * 256;
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      get_scale_min_k4(j, b.scales, &sc, &m);
      const float dl = d * float(sc);
      const float ml = dmin * float(m);
      for (int i = 0; i < 32; ++i) y[32 * j + i] = dl * float(level(b, 32 * j + i)) - ml;
    }
  }
}

// The Q4_K / Q5_K scalar dot product with Q8_K: per block, the integer sums of the levels times
// the activation under each sub-block's scale, less the mins times the activation's bsums.
template <class Block, class LevelOf>
float dot_k4_q8_k_row(const Block* xb, const BlockQ8K* yb, int64_t nb, LevelOf level) {
  float sum = 0;
  for (int64_t ib = 0; ib < nb; ++ib) {
    const Block& a = xb[ib];
    const BlockQ8K& v = yb[ib];
    int32_t sum_q = 0;
    int32_t sum_mins = 0;
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      get_scale_min_k4(j, a.scales, &sc, &m);
      int32_t sub = 0;
      for (int i = 0; i < 32; ++i) sub += int32_t(v.qs[32 * j + i]) * level(a, 32 * j + i);
      sum_q += sc * sub;
      // Min term from the activation's per-16 sums: two bsums cover one 32-element sub-block.
      sum_mins += m * (int32_t(v.bsums[2 * j]) + int32_t(v.bsums[2 * j + 1]));
    }
    const float dall = v.d * fp16_to_fp32(a.d);
    const float dmin = v.d * fp16_to_fp32(a.dmin);
    sum += dall * float(sum_q) - dmin * float(sum_mins);
  }
  return sum;
}

// Packs 256 2-bit values (0..3) the Q2_K / Q3_K way: byte 32h+l holds elements 128h+l+32s at bits 2s.
inline void pack_2bit(const uint8_t* levels, uint8_t* qs) {
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t* e = levels + 128 * h + l;
      qs[32 * h + l] = uint8_t((e[0] & 3) | ((e[32] & 3) << 2) | ((e[64] & 3) << 4) | ((e[96] & 3) << 6));
    }
  }
}

}  // namespace kq

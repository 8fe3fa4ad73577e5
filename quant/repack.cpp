// Row interleaving of Q8_0 weights in groups of 16 rows (layout in quant/repack.h).
#include "quant/repack.h"

#include <cstring>

#include "common/error.h"
#include "quant/kernels.h"
#include "quant/q8_0.h"

namespace kq {

bool repack_eligible(QType type, int64_t n_rows, int64_t n_cols) {
  if (type != QType::Q8_0 || !kernels()[type].mul_repacked) return false;
  return n_rows > 0 && n_rows % kRepackRows == 0 && n_cols > 0 && n_cols % kQ8_0BlockSize == 0;
}

size_t repacked_bytes(QType type, int64_t n_rows, int64_t n_cols) {
  return repack_eligible(type, n_rows, n_cols) ? row_size(type, n_cols) * size_t(n_rows) : 0;
}

void repack_rows(QType type, const uint8_t* src, size_t row_bytes, int64_t n_rows, int64_t n_cols, uint8_t* dst) {
  if (type != QType::Q8_0 || n_rows % kRepackRows != 0 || n_cols % kQ8_0BlockSize != 0)
    throw Error(std::string("repack: no repacked layout for ") + type_name(type) + " with these rows");
  const int64_t nb = n_cols / kQ8_0BlockSize;
  constexpr size_t kGroupBlock = size_t(kRepackRows) * sizeof(BlockQ8_0);
#pragma omp parallel for schedule(static)
  for (int64_t g = 0; g < n_rows / kRepackRows; ++g) {
    uint8_t* out = dst + size_t(g) * size_t(nb) * kGroupBlock;
    for (int64_t b = 0; b < nb; ++b, out += kGroupBlock) {
      for (int64_t r = 0; r < kRepackRows; ++r) {
        const auto* blk = reinterpret_cast<const BlockQ8_0*>(src + size_t(g * kRepackRows + r) * row_bytes) + b;
        std::memcpy(out + 2 * r, &blk->d, 2);
        for (int j = 0; j < 8; ++j) {  // each quad moves as one 32-bit word, +128 on every byte
          uint32_t q;
          std::memcpy(&q, blk->qs + 4 * j, 4);
          q ^= 0x80808080u;
          std::memcpy(out + 32 + 64 * j + 4 * r, &q, 4);
        }
      }
    }
  }
}

}  // namespace kq

// Load-time weight repacking: row-interleaved copies of matmul weights that the decode kernels read
// as one sequential stream per thread. The loader makes the copies; the memory planner asks
// repacked_bytes what a load will allocate.
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/registry.h"

namespace kq {

// Rows interleaved per group. Q8_0 in groups of 16 rows ("Q8_0x16"): for each group and each
// 32-element block b, 16 f16 scales (row order, 32 bytes), then for each 4-element quad j = 0..7
// the 4 quants of every row (row r at byte 4r of a 64-byte chunk), each stored +128 (xor 0x80) so
// that one vpdpbusd multiplies a quad of all 16 rows (unsigned) by one broadcast activation quad
// (signed). A group's block takes 16·34 = 544 bytes, the same as the rows it replaces.
constexpr int64_t kRepackRows = 16;

// Whether a weight of `type` with n_rows rows of n_cols elements is repacked at load with the
// selected kernel table: the table has a kernel for the repacked layout (Q8_0 with AVX-512 VNNI)
// and n_rows fills the interleave. Only layers' matmul weights and an untied output are offered.
bool repack_eligible(QType type, int64_t n_rows, int64_t n_cols);

// Bytes of the repacked copy, 0 when !repack_eligible (the weights stay in the mapping; the pages
// of a repacked tensor are released after copying when the mapping is a file).
size_t repacked_bytes(QType type, int64_t n_rows, int64_t n_cols);

// Writes the repacked layout of n_rows rows (row r at src + r·row_bytes) to dst
// (row_size(type, n_cols)·n_rows bytes). Needs a Q8_0 type and whole row groups (any kernel table:
// tests repack for every level that has the kernel).
void repack_rows(QType type, const uint8_t* src, size_t row_bytes, int64_t n_rows, int64_t n_cols, uint8_t* dst);

}  // namespace kq

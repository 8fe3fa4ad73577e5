// Load-time weight repacking: row-interleaved copies of matmul weights that the kernels read as
// one stream. The memory planner asks these functions what a load will allocate.
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/registry.h"

namespace kq {

// Which layout a matmul weight of `type` ([n_rows] rows of n_cols elements) gets at load with the
// selected kernel table: a repacked layout id, or `type` itself when it stays as stored in the
// file (no repacked kernels at this ISA level, a row count that does not fill the interleave, or
// repacking turned off by the caller). Only the layers' matmul weights and an untied output are
// repacked; token_embd (read by rows) never is.
QType repack_type(QType type, int64_t n_cols, int64_t n_rows);

// Bytes of the repacked copy (0 when repack_type(...) == type: the weights stay in the mapping,
// whose pages of a repacked tensor are released after copying).
size_t repacked_bytes(QType type, int64_t n_cols, int64_t n_rows);

}  // namespace kq

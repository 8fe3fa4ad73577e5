// Load-time weight repacking (interface only so far: nothing is repacked yet).
#include "quant/repack.h"

namespace kq {

QType repack_type(QType type, int64_t /*n_cols*/, int64_t /*n_rows*/) { return type; }

size_t repacked_bytes(QType /*type*/, int64_t /*n_cols*/, int64_t /*n_rows*/) { return 0; }

}  // namespace kq

// Shim for cmd_info: file type names now live in quant/mix.h (file_type_label); call that directly.
#pragma once

#include <cstdint>
#include <string>

#include "quant/mix.h"

namespace kq::app {

// Name of a general.file_type value, e.g. 15 -> "Q4_K_M"; "unknown (N)" when not known.
inline std::string file_type_name(int64_t ftype) { return kq::file_type_label(ftype); }

}  // namespace kq::app

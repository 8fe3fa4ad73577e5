// llama.cpp's file types (general.file_type, llama_ftype): names and the single-type ones kq writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "quant/registry.h"

namespace kq::app {

// Name of a general.file_type value, e.g. 15 -> "Q4_K_M"; "unknown (N)" when not known.
std::string file_type_name(int64_t ftype);
// The general.file_type that a file whose 2-D weights are all `t` gets (Q4_K -> Q4_K_S as in
// llama.cpp); nullopt for activation-only types.
std::optional<uint32_t> file_type_for(QType t);

}  // namespace kq::app

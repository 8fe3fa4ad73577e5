// llama.cpp's file types (general.file_type) and its per-tensor rules for which block type each
// tensor of a model gets (the "mixes" Q4_K_M, Q3_K_M, ...), implemented from the documented rules.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "quant/registry.h"

namespace kq {

// general.file_type values (llama_ftype).
enum class FileType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ8_0 = 7,
  kQ5_0 = 8,
  kQ5_1 = 9,
  kQ2_K = 10,
  kQ3_K_S = 11,
  kQ3_K_M = 12,
  kQ3_K_L = 13,
  kQ4_K_S = 14,
  kQ4_K_M = 15,
  kQ5_K_S = 16,
  kQ5_K_M = 17,
  kQ6_K = 18,
  kQ2_K_S = 21,
  kIQ4_NL = 25,
  kIQ4_XS = 30,
  kBF16 = 32,
};

// "Q4_K_M" <-> FileType (case-insensitive); nullopt for unknown names.
std::optional<FileType> parse_file_type(std::string_view name);
const char* file_type_name(FileType ft);
// The block type most of the file's weights get (Q4_K_M -> Q4_K).
QType file_type_base(FileType ft);

// One tensor as the planner sees it (from a GGUF tensor info).
struct MixTensor {
  std::string name;
  std::array<int64_t, 4> ne{0, 1, 1, 1};
  int n_dims = 1;
  QType type = QType::F32;  // its type in the input file
};

// Model facts the rules look at.
struct MixModel {
  std::string arch = "llama";
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int n_expert = 0;
};

struct MixOptions {
  bool pure = false;                       // every quantizable weight gets the base type
  bool has_imatrix = false;                // some rules (Q2_K_S, IQ types) differ with an imatrix
  std::optional<QType> output_type;        // --output-tensor-type
  std::optional<QType> token_embd_type;    // --token-embedding-type
  // --tensor-type REGEX=TYPE, in order: the first pattern that matches a tensor name wins.
  std::vector<std::pair<std::string, QType>> tensor_types;
};

// The type each tensor gets, in the order given: nullopt for tensors that are copied unchanged
// (1-D tensors, norms, ...). Row-length fallbacks (a row that is not whole blocks) are applied.
std::vector<std::optional<QType>> plan_mix(FileType ft, const MixModel& model, const std::vector<MixTensor>& tensors,
                                           const MixOptions& options = {});

}  // namespace kq

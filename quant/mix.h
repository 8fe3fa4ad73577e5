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

// "Q4_K_M" <-> FileType (case-insensitive); nullopt for unknown names. Also accepted: the numeric
// llama_ftype, and Q3_K / Q4_K / Q5_K for the _S file type (what a file of only that type records).
std::optional<FileType> parse_file_type(std::string_view name);
const char* file_type_name(FileType ft);
// The name of any general.file_type value, including ones kq cannot write ("IQ2_XXS");
// "unknown (N)" for values llama.cpp does not define.
std::string file_type_label(int64_t id);
// The block type most of the file's weights get (Q4_K_M -> Q4_K).
QType file_type_base(FileType ft);
// Every file type kq can write, in a stable order (for usage text and tests).
const std::vector<FileType>& all_file_types();

// llama.cpp's fallback when a row of ne0 values is not whole blocks of `want`: Q2_K/Q3_K/IQ4_XS ->
// IQ4_NL, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, and F16 when that does not fit either.
// Returns `want` when it fits.
QType row_fallback(QType want, int64_t ne0);

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

// llama.cpp's visiting (and writing) order of a model's tensors: non-block tensors first, then
// blk.0.*, blk.1.*, ..., by name within each. Returns indices into `tensors`.
std::vector<size_t> llama_tensor_order(const std::vector<MixTensor>& tensors);

// The type each tensor gets, in the order given: nullopt for tensors that are copied unchanged
// (1-D tensors, norms, ...). Row-length fallbacks (a row that is not whole blocks) are applied.
// Layer counters follow llama.cpp's visiting order (non-block tensors, then blk.0, blk.1, ...,
// by name within each), whatever the order given. Throws kq::Error for a bad --tensor-type
// pattern or (MoE) an ffn tensor whose layer cannot be read from its name. When `notes` is given,
// one line is appended for each row-length fallback ("blk.0.attn_v.weight: rows of 2880 ...").
std::vector<std::optional<QType>> plan_mix(FileType ft, const MixModel& model, const std::vector<MixTensor>& tensors,
                                           const MixOptions& options = {}, std::vector<std::string>* notes = nullptr);

}  // namespace kq

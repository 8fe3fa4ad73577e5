// Perplexity and KL divergence over a token stream, as llama-perplexity computes them (library only).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "quant/registry.h"

namespace kq {

class Model;
class MatmulObserver;

struct PerplexityOptions {
  int n_ctx = 512;     // tokens per chunk (llama-perplexity -c); ignored by kl_divergence (the file's)
  int n_batch = 2048;  // tokens per forward pass, capped at n_ctx
  int n_threads = 0;   // 0 → physical cores
  int n_chunks = -1;   // chunks to run; -1 → every whole chunk of the input
  QType cache_type = QType::F16;
  int32_t bos_id = -1;  // ≥ 0: the first token of each chunk is evaluated as this id (llama-perplexity
                        // does so when the vocabulary adds BOS); -1 leaves the tokens as they are
  MatmulObserver* observer = nullptr;  // sees every weight matmul's input (kq imatrix); null: none
};

// Called after each chunk with the chunk index (0-based), the chunk count and the running value
// (PPL so far for perplexity, mean KLD so far for kl_divergence), for progress output.
using ChunkCallback = std::function<void(int chunk, int n_chunks, double running)>;

struct PerplexityResult {
  int n_ctx = 0;
  int n_chunks = 0;
  int64_t n_scored = 0;         // predictions scored: n_chunks · (n_ctx − 1 − n_ctx/2)
  double ppl = 0, ppl_err = 0;  // exp(mean NLL) and llama.cpp's ± (PPL · standard error of the NLL mean)
  double mean_nll = 0;
  std::vector<double> chunk_ppl;  // [n_chunks] running PPL after each chunk, as llama-perplexity prints
};

// Scores `tokens` (tokenized with BOS) in chunks of n_ctx: every chunk is evaluated from an empty
// cache and only its second half is scored (positions n_ctx/2 … n_ctx−2 predict the next token).
// When kld_base_path is not empty, also writes a llama-perplexity --kl-divergence-base file there.
// Too few tokens for one chunk is a kq::Error.
PerplexityResult perplexity(const Model& model, const std::vector<int32_t>& tokens, const PerplexityOptions& options,
                            const std::string& kld_base_path = "", const ChunkCallback& progress = {});

// The header of a --kl-divergence-base file: its context, vocabulary and tokens.
struct KldBaseHeader {
  int n_ctx = 0;
  int n_vocab = 0;
  int n_chunks = 0;
  std::vector<int32_t> tokens;  // [n_chunks · n_ctx] the text as tokenized (BOS only at the start)
};
KldBaseHeader read_kld_base_header(const std::string& path);

// Percentiles of a distribution (linear interpolation between sorted neighbours).
struct Percentiles {
  double max = 0, p99_9 = 0, p99 = 0, p95 = 0, p90 = 0, p75 = 0, median = 0, p25 = 0, p10 = 0, p5 = 0, p1 = 0, p0_1 = 0,
         min = 0;
};

struct KldResult {
  int n_ctx = 0, n_vocab = 0, n_chunks = 0;
  int64_t n_scored = 0;
  // Perplexity statistics (each "err" is llama.cpp's ± uncertainty).
  double ppl_q = 0, ppl_q_err = 0;                  // this model
  double ppl_base = 0, ppl_base_err = 0;            // the base logits
  double cor_ln_ppl = 0;                            // correlation of ln PPL(Q) and ln PPL(base), 0..1
  double mean_ln_ratio = 0, mean_ln_ratio_err = 0;  // mean ln(PPL(Q)/PPL(base))
  double ppl_ratio = 0, ppl_ratio_err = 0;          // PPL(Q)/PPL(base)
  double ppl_diff = 0, ppl_diff_err = 0;            // PPL(Q) − PPL(base)
  // KL divergence of this model's token distribution from the base's, per scored position.
  double mean_kld = 0, mean_kld_err = 0;
  Percentiles kld;
  // Δp: probability of the correct next token, this model minus base (fractions, not %).
  double mean_dp = 0, mean_dp_err = 0;
  Percentiles dp;
  double rms_dp = 0, rms_dp_err = 0;
  double same_top = 0, same_top_err = 0;  // fraction of positions whose argmax agrees
};

// Evaluates the base file's tokens with n_ctx from the file and compares every scored position
// with the stored log-probabilities. A vocabulary mismatch or a truncated file is a kq::Error.
KldResult kl_divergence(const Model& model, const std::string& base_path, const PerplexityOptions& options,
                        const ChunkCallback& progress = {});

}  // namespace kq

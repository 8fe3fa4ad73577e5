// Sampler: picks the next token from a logits row (penalties, top-k, top-p, min-p, temperature, seeded RNG).
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <vector>

namespace kq {

// Seed value that asks the Sampler to draw a fresh seed from the OS (llama.cpp's "random seed").
constexpr uint64_t kRandomSeed = UINT64_MAX;

// llama.cpp's defaults, so that users' habits (and their numbers) carry over.
struct SamplerParams {
  float temp = 0.8f;            // <= 0: greedy (argmax after penalties)
  int top_k = 40;               // <= 0: keep every token
  float top_p = 0.95f;          // >= 1: off
  float min_p = 0.05f;          // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off
  int repeat_last_n = 64;       // tokens of history the penalties look at; 0: off, -1: the whole history
  float freq_penalty = 0.0f;
  float presence_penalty = 0.0f;
  uint64_t seed = kRandomSeed;
};

// One candidate token during sampling.
struct TokenLogit {
  int32_t id;
  float logit;
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& params);

  // Returns the next token for a logits row of n_vocab entries; the row is not modified.
  // Call accept() with the chosen id (and with prompt tokens) so penalties see the history.
  int32_t sample(const float* logits, int n_vocab);
  // Records a token in the penalty history.
  void accept(int32_t id);
  // Forgets the history (the RNG keeps its state so outputs stay varied).
  void reset_history() { history_.clear(); }

  const SamplerParams& params() const { return params_; }
  uint64_t seed() const { return seed_; }  // the seed in use (drawn when params.seed == kRandomSeed)

  // The pipeline steps, exposed for tests. Each works on `c` in place; all but apply_penalties
  // expect and keep `c` sorted by logit, highest first (ties: lowest id first), and keep ≥ 1 token.
  static void apply_penalties(std::vector<TokenLogit>& c, const std::vector<int32_t>& recent, const SamplerParams& p);
  static void sort_candidates(std::vector<TokenLogit>& c);
  static void top_k(std::vector<TokenLogit>& c, int k);
  static void top_p(std::vector<TokenLogit>& c, float p);
  static void min_p(std::vector<TokenLogit>& c, float p);
  // Returns softmax probabilities of `c` after dividing by temp.
  static std::vector<double> probabilities(const std::vector<TokenLogit>& c, float temp);
  // Returns the index whose cumulative probability first exceeds u (u in [0, 1)).
  static size_t pick(const std::vector<double>& probs, double u);

  // Returns a uniform double in [0, 1) from 53 random bits; portable, unlike std::*_distribution.
  double next_uniform();

 private:
  SamplerParams params_;
  uint64_t seed_;
  std::mt19937_64 rng_;           // its output sequence is fixed by the standard for every platform
  std::deque<int32_t> history_;   // most recent last; capped at repeat_last_n when that is > 0
  std::vector<TokenLogit> cand_;  // scratch, reused between calls
};

}  // namespace kq

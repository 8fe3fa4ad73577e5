// Token sampling in llama.cpp's default order: penalties → top-k → top-p → min-p → temperature → draw.
#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "common/error.h"

namespace kq {
namespace {

// Orders candidates by logit, highest first; equal logits by id so results never depend on the
// sort algorithm.
bool higher(const TokenLogit& a, const TokenLogit& b) {
  return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
}

uint64_t resolve_seed(uint64_t seed) {
  if (seed != kRandomSeed) return seed;
  std::random_device rd;
  // random_device gives 32 bits per call; two calls fill the seed.
  return (uint64_t(rd()) << 32) ^ uint64_t(rd());
}

}  // namespace

Sampler::Sampler(const SamplerParams& params) : params_(params), seed_(resolve_seed(params.seed)), rng_(seed_) {}

void Sampler::accept(int32_t id) {
  if (params_.repeat_last_n == 0) return;
  history_.push_back(id);
  if (params_.repeat_last_n > 0 && history_.size() > size_t(params_.repeat_last_n)) history_.pop_front();
}

double Sampler::next_uniform() {
  return double(rng_() >> 11) * 0x1.0p-53;
}

void Sampler::apply_penalties(std::vector<TokenLogit>& c, const std::vector<int32_t>& recent, const SamplerParams& p) {
  const bool active = p.repeat_penalty != 1.0f || p.freq_penalty != 0.0f || p.presence_penalty != 0.0f;
  if (!active || recent.empty()) return;
  std::unordered_map<int32_t, int> counts;
  for (const int32_t id : recent) ++counts[id];
  for (TokenLogit& t : c) {
    const auto it = counts.find(t.id);
    if (it == counts.end()) continue;
    // Dividing a negative logit would raise its probability, so those are multiplied instead.
    if (t.logit <= 0.0f)
      t.logit *= p.repeat_penalty;
    else
      t.logit /= p.repeat_penalty;
    t.logit -= float(it->second) * p.freq_penalty + p.presence_penalty;
  }
}

void Sampler::sort_candidates(std::vector<TokenLogit>& c) {
  std::sort(c.begin(), c.end(), higher);
}

void Sampler::top_k(std::vector<TokenLogit>& c, int k) {
  if (k > 0 && size_t(k) < c.size()) c.resize(size_t(k));
}

void Sampler::top_p(std::vector<TokenLogit>& c, float p) {
  if (p >= 1.0f || c.size() <= 1) return;
  const std::vector<double> probs = probabilities(c, 1.0f);
  double cum = 0.0;
  // Keep the shortest prefix whose mass reaches p (the token that crosses it included).
  for (size_t i = 0; i < probs.size(); ++i) {
    cum += probs[i];
    if (cum >= double(p)) {
      c.resize(i + 1);
      return;
    }
  }
}

void Sampler::min_p(std::vector<TokenLogit>& c, float p) {
  if (p <= 0.0f || c.size() <= 1) return;
  // p_i ≥ p · p_max  ⇔  logit_i ≥ logit_max + ln p, so no softmax is needed.
  const float threshold = c.front().logit + std::log(p);
  size_t keep = 1;
  while (keep < c.size() && c[keep].logit >= threshold) ++keep;
  c.resize(keep);
}

std::vector<double> Sampler::probabilities(const std::vector<TokenLogit>& c, float temp) {
  std::vector<double> probs(c.size());
  if (c.empty()) return probs;
  double max = c.front().logit;
  for (const TokenLogit& t : c) max = std::max(max, double(t.logit));
  double sum = 0.0;
  for (size_t i = 0; i < c.size(); ++i) sum += probs[i] = std::exp((double(c[i].logit) - max) / double(temp));
  for (double& q : probs) q /= sum;
  return probs;
}

size_t Sampler::pick(const std::vector<double>& probs, double u) {
  double cum = 0.0;
  for (size_t i = 0; i < probs.size(); ++i) {
    cum += probs[i];
    if (u < cum) return i;
  }
  // Rounding can leave the total a hair under 1; the last token takes that sliver.
  return probs.empty() ? 0 : probs.size() - 1;
}

int32_t Sampler::sample(const float* logits, int n_vocab) {
  if (n_vocab <= 0) throw Error("sampler: empty logits row");
  cand_.resize(size_t(n_vocab));
  for (int i = 0; i < n_vocab; ++i) cand_[size_t(i)] = {i, logits[i]};
  apply_penalties(cand_, std::vector<int32_t>(history_.begin(), history_.end()), params_);

  if (params_.temp <= 0.0f) {
    // Greedy: the first maximum wins, so ties go to the lowest id.
    const auto best = std::min_element(cand_.begin(), cand_.end(), higher);
    return best->id;
  }
  if (params_.top_k > 0 && size_t(params_.top_k) < cand_.size()) {
    // Only the k best need ordering; partial_sort is much cheaper than a full sort of the vocabulary.
    std::partial_sort(cand_.begin(), cand_.begin() + params_.top_k, cand_.end(), higher);
    cand_.resize(size_t(params_.top_k));
  } else {
    sort_candidates(cand_);
  }
  top_p(cand_, params_.top_p);
  min_p(cand_, params_.min_p);
  const std::vector<double> probs = probabilities(cand_, params_.temp);
  return cand_[pick(probs, next_uniform())].id;
}

}  // namespace kq

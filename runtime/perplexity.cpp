// llama-perplexity's PPL and KL-divergence algorithms over kq Sessions, and its base-file format.
#include "runtime/perplexity.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "common/error.h"
#include "common/fp16.h"
#include "runtime/model.h"
#include "runtime/session.h"

namespace kq {
namespace {

constexpr char kMagic[8] = {'_', 'l', 'o', 'g', 'i', 't', 's', '_'};

// uint16 values in one base record: two floats (scale, min_log_prob), then the vocabulary padded
// to an even count.
size_t record_words(int n_vocab) {
  return 2 * ((size_t(n_vocab) + 1) / 2) + 4;
}

// Positions n_ctx/2 … n_ctx−2 of each chunk are scored; the first half only gives them context.
int first_scored(int n_ctx) {
  return n_ctx / 2;
}
int scored_per_chunk(int n_ctx) {
  return n_ctx - 1 - n_ctx / 2;
}

// The log-softmax of one logits row at one token, in llama-perplexity's precision (float max,
// double sum of exp).
struct LogSoftmax {
  float max = 0;  // largest logit
  int argmax = 0;
  double log_sum_exp = 0;  // log Σ exp(logit − max)
};
LogSoftmax log_softmax(const float* logits, int n_vocab) {
  LogSoftmax r;
  r.max = logits[0];
  for (int i = 1; i < n_vocab; ++i)
    if (logits[i] > r.max) r.max = logits[i], r.argmax = i;
  double sum = 0.0;
  for (int i = 0; i < n_vocab; ++i) sum += double(std::exp(logits[i] - r.max));
  r.log_sum_exp = std::log(sum);
  return r;
}

// Evaluates chunks from an empty cache with every logits row kept.
class ChunkRunner {
 public:
  ChunkRunner(const Model& model, int n_ctx, const PerplexityOptions& o)
      : session_(model, SessionOptions{n_ctx, std::min(o.n_batch, n_ctx), o.n_threads, o.cache_type}),
        bos_(o.bos_id),
        chunk_(size_t(n_ctx)) {
    session_.set_matmul_observer(o.observer);
  }

  // Runs tokens [start, start + n_ctx) with the first one replaced by BOS (when set).
  void run(const int32_t* tokens) {
    std::copy(tokens, tokens + chunk_.size(), chunk_.begin());
    if (bos_ >= 0) chunk_[0] = bos_;
    session_.truncate(0);
    session_.eval(chunk_, /*all_logits=*/true);
  }
  const float* logits(int pos) const { return session_.logits(pos); }
  int n_vocab() const { return session_.n_vocab(); }

 private:
  Session session_;
  int32_t bos_;
  std::vector<int32_t> chunk_;  // [n_ctx] the tokens being evaluated
};

// Encodes one row of logits as a base record (scale, min_log_prob, then 16-bit log-probs).
void encode_record(const float* logits, int n_vocab, uint16_t* rec) {
  const LogSoftmax ls = log_softmax(logits, n_vocab);
  float min = ls.max;
  for (int i = 0; i < n_vocab; ++i) min = std::min(min, logits[i]);
  min = std::max(min, ls.max - 16.0f);
  const float scale = (ls.max - min) / 65535.0f;
  const float min_log_prob = min - ls.max - float(ls.log_sum_exp);
  std::memcpy(rec, &scale, 4);
  std::memcpy(rec + 2, &min_log_prob, 4);
  const float inv_scale = scale > 0 ? 1.0f / scale : 0.0f;
  uint16_t* q = rec + 4;
  for (int i = 0; i < n_vocab; ++i)
    q[i] = logits[i] > min ? uint16_t(std::min(65535, round_ne(inv_scale * (logits[i] - min)))) : 0;
}

void write_or_throw(std::ofstream& out, const void* data, size_t bytes, const std::string& path) {
  out.write(static_cast<const char*>(data), std::streamsize(bytes));
  if (!out) throw Error(path + ": write failed");
}

void read_or_throw(std::ifstream& in, void* data, size_t bytes, const std::string& path, const char* what) {
  in.read(static_cast<char*>(data), std::streamsize(bytes));
  if (size_t(in.gcount()) != bytes) throw Error(path + ": file ends inside " + std::string(what));
}

// Running sums of llama-perplexity's KL-divergence statistics.
struct KldSums {
  double nll = 0, nll2 = 0, nll_base = 0, nll_base2 = 0, nll_nll_base = 0;
  double kld = 0, kld2 = 0, dp = 0, dp2 = 0, dp4 = 0;
  int64_t count = 0, same_top = 0;
  std::vector<float> klds, dps;  // [count] per-position values, for the percentiles
};

// Compares one position's logits with its base record and adds it to the sums.
void add_kld_position(const float* logits, int n_vocab, const uint16_t* rec, int32_t next, KldSums& s) {
  const LogSoftmax ls = log_softmax(logits, n_vocab);
  float scale, min_log_prob;
  std::memcpy(&scale, rec, 4);
  std::memcpy(&min_log_prob, rec + 2, 4);
  const uint16_t* q = rec + 4;
  const double nll = double(ls.max) + ls.log_sum_exp - double(logits[next]);
  const double nll_base = -double(scale * float(q[next]) + min_log_prob);
  // KL(base ‖ this) over the tokens the base stored above its cut-off (q > 0), in log space.
  const double log_norm = double(ls.max) + ls.log_sum_exp;
  double kld = 0.0;
  int argmax_base = -1;
  float best_base = 0.0f;
  for (int i = 0; i < n_vocab; ++i) {
    if (q[i] == 0) continue;
    const float lp_base = scale * float(q[i]) + min_log_prob;
    kld += double(std::exp(lp_base)) * (double(lp_base) - double(logits[i]) + log_norm);
    if (argmax_base < 0 || lp_base > best_base) best_base = lp_base, argmax_base = i;
  }
  const double dp = std::exp(-nll) - std::exp(-nll_base);
  s.nll += nll, s.nll2 += nll * nll;
  s.nll_base += nll_base, s.nll_base2 += nll_base * nll_base, s.nll_nll_base += nll * nll_base;
  s.kld += kld, s.kld2 += kld * kld;
  s.dp += dp, s.dp2 += dp * dp, s.dp4 += dp * dp * dp * dp;
  s.same_top += ls.argmax == argmax_base ? 1 : 0;
  ++s.count;
  s.klds.push_back(float(kld));
  s.dps.push_back(float(dp));
}

// Mean of n samples and the standard error of that mean, from Σx and Σx².
std::pair<double, double> mean_and_error(double sum, double sum2, int64_t n) {
  const double mean = sum / double(n);
  const double var = sum2 / double(n) - mean * mean;
  return {mean, n > 1 && var > 0 ? std::sqrt(var / double(n - 1)) : 0.0};
}

double percentile(const std::vector<float>& sorted, double fraction) {
  const double p = fraction * double(sorted.size() - 1);
  const size_t i = size_t(p);
  const size_t j = std::min(i + 1, sorted.size() - 1);
  return (1.0 - (p - double(i))) * double(sorted[i]) + (p - double(i)) * double(sorted[j]);
}

Percentiles percentiles(std::vector<float> v) {
  std::sort(v.begin(), v.end());
  Percentiles p;
  p.max = v.back();
  p.p99_9 = percentile(v, 0.999), p.p99 = percentile(v, 0.99), p.p95 = percentile(v, 0.95);
  p.p90 = percentile(v, 0.90), p.p75 = percentile(v, 0.75), p.median = percentile(v, 0.5);
  p.p25 = percentile(v, 0.25), p.p10 = percentile(v, 0.10), p.p5 = percentile(v, 0.05);
  p.p1 = percentile(v, 0.01), p.p0_1 = percentile(v, 0.001);
  p.min = v.front();
  return p;
}

// Turns the sums into llama-perplexity's printed statistics.
void finish_kld(const KldSums& s, KldResult& r) {
  const int64_t n = s.count;
  r.n_scored = n;
  const auto [lq, lq_err] = mean_and_error(s.nll, s.nll2, n);
  const auto [lb, lb_err] = mean_and_error(s.nll_base, s.nll_base2, n);
  const double cov = (s.nll_nll_base / double(n) - lq * lb) / double(n > 1 ? n - 1 : 1);
  r.ppl_q = std::exp(lq), r.ppl_q_err = r.ppl_q * lq_err;
  r.ppl_base = std::exp(lb), r.ppl_base_err = r.ppl_base * lb_err;
  r.cor_ln_ppl = lq_err > 0 && lb_err > 0 ? cov / (lq_err * lb_err) : 1.0;
  r.mean_ln_ratio = lq - lb;
  r.mean_ln_ratio_err = std::sqrt(std::max(0.0, lq_err * lq_err + lb_err * lb_err - 2.0 * cov));
  r.ppl_ratio = std::exp(r.mean_ln_ratio), r.ppl_ratio_err = r.ppl_ratio * r.mean_ln_ratio_err;
  const double ppl_cov = r.ppl_q * r.ppl_base * cov;
  r.ppl_diff = r.ppl_q - r.ppl_base;
  r.ppl_diff_err =
      std::sqrt(std::max(0.0, r.ppl_q_err * r.ppl_q_err + r.ppl_base_err * r.ppl_base_err - 2.0 * ppl_cov));

  std::tie(r.mean_kld, r.mean_kld_err) = mean_and_error(s.kld, s.kld2, n);
  r.kld = percentiles(s.klds);
  std::tie(r.mean_dp, r.mean_dp_err) = mean_and_error(s.dp, s.dp2, n);
  r.dp = percentiles(s.dps);
  const auto [mse, mse_err] = mean_and_error(s.dp2, s.dp4, n);
  r.rms_dp = std::sqrt(mse);
  r.rms_dp_err = r.rms_dp > 0 ? 0.5 / r.rms_dp * mse_err : 0.0;
  r.same_top = double(s.same_top) / double(n);
  r.same_top_err = n > 1 ? std::sqrt(r.same_top * (1.0 - r.same_top) / double(n - 1)) : 0.0;
}

}  // namespace

PerplexityResult perplexity(const Model& model, const std::vector<int32_t>& tokens, const PerplexityOptions& o,
                            const std::string& kld_base_path, const ChunkCallback& progress) {
  if (o.n_ctx < 4) throw Error("perplexity needs a context of at least 4 tokens, got " + std::to_string(o.n_ctx));
  const int n_ctx = o.n_ctx;
  int n_chunks = int(tokens.size() / size_t(n_ctx));
  if (o.n_chunks >= 0) n_chunks = std::min(n_chunks, o.n_chunks);
  if (n_chunks == 0)
    throw Error("perplexity needs at least " + std::to_string(n_ctx) + " tokens (one chunk of the context), got " +
                std::to_string(tokens.size()));

  ChunkRunner runner(model, n_ctx, o);
  const int n_vocab = runner.n_vocab();
  std::ofstream base;
  std::vector<uint16_t> record(record_words(n_vocab));  // one base record
  if (!kld_base_path.empty()) {
    base.open(kld_base_path, std::ios::binary | std::ios::trunc);
    if (!base) throw Error(kld_base_path + ": cannot open for writing");
    const int32_t header[3] = {n_ctx, n_vocab, n_chunks};
    write_or_throw(base, kMagic, sizeof kMagic, kld_base_path);
    write_or_throw(base, header, sizeof header, kld_base_path);
    write_or_throw(base, tokens.data(), size_t(n_chunks) * size_t(n_ctx) * sizeof(int32_t), kld_base_path);
  }

  PerplexityResult r;
  r.n_ctx = n_ctx;
  r.n_chunks = n_chunks;
  double nll = 0.0, nll2 = 0.0;
  for (int c = 0; c < n_chunks; ++c) {
    const int32_t* chunk = tokens.data() + size_t(c) * size_t(n_ctx);
    runner.run(chunk);
    for (int i = first_scored(n_ctx); i < n_ctx - 1; ++i) {
      const float* logits = runner.logits(i);
      const LogSoftmax ls = log_softmax(logits, n_vocab);
      const double v = double(ls.max) + ls.log_sum_exp - double(logits[chunk[i + 1]]);
      nll += v, nll2 += v * v;
      if (base.is_open()) {
        encode_record(logits, n_vocab, record.data());
        write_or_throw(base, record.data(), record.size() * sizeof(uint16_t), kld_base_path);
      }
    }
    r.n_scored += scored_per_chunk(n_ctx);
    r.chunk_ppl.push_back(std::exp(nll / double(r.n_scored)));
    if (progress) progress(c, n_chunks, r.chunk_ppl.back());
  }
  const auto [mean, err] = mean_and_error(nll, nll2, r.n_scored);
  r.mean_nll = mean;
  r.ppl = std::exp(mean);
  r.ppl_err = err * r.ppl;
  return r;
}

KldBaseHeader read_kld_base_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  char magic[8];
  read_or_throw(in, magic, 8, path, "the magic");
  if (std::memcmp(magic, kMagic, 8) != 0) throw Error(path + ": not a KL-divergence base file (no _logits_ magic)");
  int32_t header[3];
  read_or_throw(in, header, sizeof header, path, "the header");
  KldBaseHeader h{header[0], header[1], header[2], {}};
  if (h.n_ctx < 4 || h.n_vocab <= 0 || h.n_chunks <= 0 || int64_t(h.n_ctx) * h.n_chunks > (int64_t(1) << 28))
    throw Error(path + ": implausible header (n_ctx " + std::to_string(h.n_ctx) + ", n_vocab " +
                std::to_string(h.n_vocab) + ", n_chunk " + std::to_string(h.n_chunks) + ")");
  h.tokens.resize(size_t(h.n_ctx) * size_t(h.n_chunks));
  read_or_throw(in, h.tokens.data(), h.tokens.size() * sizeof(int32_t), path, "the tokens");
  return h;
}

KldResult kl_divergence(const Model& model, const std::string& base_path, const PerplexityOptions& o,
                        const ChunkCallback& progress) {
  const KldBaseHeader h = read_kld_base_header(base_path);
  std::ifstream in(base_path, std::ios::binary);
  in.seekg(std::streamoff(20 + h.tokens.size() * sizeof(int32_t)));
  ChunkRunner runner(model, h.n_ctx, o);
  if (runner.n_vocab() != h.n_vocab)
    throw Error(base_path + ": base logits have a vocabulary of " + std::to_string(h.n_vocab) + ", the model " +
                std::to_string(runner.n_vocab()));
  KldResult r;
  r.n_ctx = h.n_ctx, r.n_vocab = h.n_vocab;
  r.n_chunks = o.n_chunks >= 0 ? std::min(o.n_chunks, h.n_chunks) : h.n_chunks;
  const size_t words = record_words(h.n_vocab);
  std::vector<uint16_t> records(words * size_t(scored_per_chunk(h.n_ctx)));  // one chunk's base records
  KldSums sums;
  for (int c = 0; c < r.n_chunks; ++c) {
    read_or_throw(in, records.data(), records.size() * sizeof(uint16_t), base_path, "the logits records");
    const int32_t* chunk = h.tokens.data() + size_t(c) * size_t(h.n_ctx);
    runner.run(chunk);
    for (int i = first_scored(h.n_ctx), k = 0; i < h.n_ctx - 1; ++i, ++k)
      add_kld_position(runner.logits(i), h.n_vocab, records.data() + size_t(k) * words, chunk[i + 1], sums);
    if (progress) progress(c, r.n_chunks, sums.kld / double(sums.count));
  }
  finish_kld(sums, r);
  return r;
}

}  // namespace kq

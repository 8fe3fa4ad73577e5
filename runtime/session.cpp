// Session: buffers sized once, eval() in n_batch chunks, and forward(): the whole llama-family layer stack.
#include "runtime/session.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "common/error.h"
#include "runtime/matmul.h"
#include "runtime/model.h"
#include "runtime/ops_kernels.h"

namespace kq {

int physical_cores() {
  // Distinct (physical id, core id) pairs; SMT siblings share a core and gain little for matmuls.
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<int, int>> cores;
  std::string line;
  int physical = 0;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (line.rfind("physical id", 0) == 0) physical = std::atoi(line.c_str() + colon + 1);
    if (line.rfind("core id", 0) == 0) cores.emplace(physical, std::atoi(line.c_str() + colon + 1));
  }
  if (!cores.empty()) return int(cores.size());
  return std::max(1, int(std::thread::hardware_concurrency()));
}

namespace {

// Lists the weights matmul runs on, in the order of memory_plan's header_matmul_weights.
std::vector<TensorView> matmul_weights(const ModelWeights& w) {
  std::vector<TensorView> out = {w.output};
  for (const LayerWeights& l : w.layers)
    for (const TensorView* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) out.push_back(*t);
  return out;
}

}  // namespace

Session::Session(const Model& model, SessionOptions o)
    : model_(model),
      buffers_(plan_session_buffers(model.config(), matmul_weights(model.weights()), o)),
      n_ctx_(buffers_.n_ctx),
      n_batch_(buffers_.n_batch),
      n_threads_(buffers_.n_threads),
      cache_(model.config().n_layer, n_ctx_, model.config().n_head_kv, model.config().head_dim,
             model.config().head_dim_v, buffers_.cache_type) {
  const ModelConfig& c = model.config();
  rope_.n_rot = c.n_rot;
  rope_.freq_base = c.rope_freq_base;
  rope_.freq_scale = c.rope_freq_scale;
  rope_.freq_factors = model.weights().rope_freqs.present() ? model.weights().rope_freqs.f32() : nullptr;
  rope_.type = c.rope_type;

  const SessionBuffers& s = buffers_;
  x_.resize(s.x);
  xb_.resize(s.xb);
  xo_.resize(s.xo);
  q_.resize(s.q);
  k_.resize(s.k);
  v_.resize(s.v);
  att_.resize(s.att);
  hb_.resize(s.hb);
  hb2_.resize(s.hb2);
  rope_cs_.resize(s.rope_cs);
  mm_scratch_.resize(s.mm_scratch);
  attn_scratch_.reserve(size_t(n_threads_));
  for (int i = 0; i < n_threads_; ++i) attn_scratch_.emplace_back(cache_, c.head_dim, c.head_dim_v);
  logits_.resize(s.logits);
}

size_t Session::allocated_bytes() const {
  size_t bytes = cache_.bytes() + mm_scratch_.capacity() + logits_.capacity() * sizeof(float);
  for (const std::vector<float>* b : {&x_, &xb_, &xo_, &q_, &k_, &v_, &att_, &hb_, &hb2_, &rope_cs_})
    bytes += b->capacity() * sizeof(float);
  for (const AttentionScratch& a : attn_scratch_) bytes += a.allocated_bytes();
  return bytes;
}

int Session::n_vocab() const {
  return model_.config().n_vocab;
}

void Session::eval(const std::vector<int32_t>& tokens, bool all_logits) {
  const int n = int(tokens.size());
  if (n == 0) return;
  if (size_t(n_past_) + tokens.size() > size_t(n_ctx_))
    throw Error("prompt of " + std::to_string(tokens.size()) + " tokens does not fit the context of " +
                std::to_string(n_ctx_) + (n_past_ ? " (" + std::to_string(n_past_) + " positions already used)" : ""));
  const int n_vocab = model_.config().n_vocab;
  for (int i = 0; i < n; ++i)
    if (tokens[size_t(i)] < 0 || tokens[size_t(i)] >= n_vocab)
      throw Error("token id " + std::to_string(tokens[size_t(i)]) + " at index " + std::to_string(i) +
                  " is out of range for a vocabulary of " + std::to_string(n_vocab));

  n_logits_ = all_logits ? n : 1;
  logits_.resize(size_t(n_logits_) * size_t(n_vocab));
  for (int start = 0; start < n; start += n_batch_) {
    const int m = std::min(n_batch_, n - start);
    const bool last = start + m == n;
    if (all_logits) {
      forward(tokens.data() + start, m, n_past_, 0, logits_.data() + size_t(start) * size_t(n_vocab));
    } else {
      forward(tokens.data() + start, m, n_past_, last ? m - 1 : m, logits_.data());
    }
    n_past_ += m;
  }
}

const float* Session::logits(int i) const {
  if (n_logits_ == 0) throw Error("no logits yet: call eval() first");
  if (i == -1) i = n_logits_ - 1;
  if (i < 0 || i >= n_logits_)
    throw Error("logits row " + std::to_string(i) + " requested; the last eval kept " + std::to_string(n_logits_));
  return logits_.data() + size_t(i) * size_t(model_.config().n_vocab);
}

void Session::truncate(int n_past) {
  if (n_past < 0 || n_past > n_past_)
    throw Error("cannot truncate to " + std::to_string(n_past) + " positions; the session holds " +
                std::to_string(n_past_));
  n_past_ = n_past;  // later positions are overwritten by the next eval
}

namespace {

// Runs fn(t0, t1) over [0, n) split into one contiguous range per thread, in one OpenMP region
// when parallel is set; small batches (decode) run inline without waking the team.
template <class Fn>
void for_token_ranges(int n, int n_threads, bool parallel, Fn&& fn) {
  if (!parallel || n_threads <= 1 || n < 2) {
    fn(0, n);
    return;
  }
#pragma omp parallel num_threads(n_threads)
  {
    const int tid = omp_get_thread_num(), nth = omp_get_num_threads();
    const int t0 = int(int64_t(n) * tid / nth), t1 = int(int64_t(n) * (tid + 1) / nth);
    if (t0 < t1) fn(t0, t1);
  }
}

// The attention of n tokens at positions pos0.. over the cache: queries q ([n][H·Dk]), output
// out ([n][H·Dv]); the caller sets the layer (il) before each use.
AttentionBatch attention_batch(const ModelConfig& c, const KvCache& cache, int pos0, int n, float* q, float* out) {
  AttentionBatch attn;
  attn.cache = &cache;
  attn.pos0 = pos0;
  attn.n_tokens = n;
  attn.n_head = c.n_head;
  attn.n_head_kv = c.n_head_kv;
  attn.head_dim_k = c.head_dim;
  attn.head_dim_v = c.head_dim_v;
  attn.scale = 1.0f / std::sqrt(float(c.head_dim));
  attn.q = q;
  attn.q_stride = size_t(c.n_embd_q());
  attn.out = out;
  attn.out_stride = size_t(c.n_embd_o());
  return attn;
}

// Below this many tokens the element-wise passes are too short for a parallel region to pay off.
constexpr int kParallelTokens = 4;
// Attention of fewer flops than this runs on the calling thread (short decode contexts).
constexpr double kParallelAttentionFlops = 2e5;

}  // namespace

void Session::forward(const int32_t* tokens, int n, int pos0, int out_from, float* out) {
  const ModelConfig& c = model_.config();
  const ModelWeights& w = model_.weights();
  // Row widths of the activation buffers: residual, queries, keys, values, attention output, FFN.
  const size_t n_e = size_t(c.n_embd), n_q = size_t(c.n_embd_q()), n_k = size_t(c.n_embd_k());
  const size_t n_v = size_t(c.n_embd_v()), n_f = size_t(c.n_ff);
  float* x = x_.data();
  float* xb = xb_.data();
  float* xo = xo_.data();
  float* q = q_.data();
  float* k = k_.data();
  float* v = v_.data();
  uint8_t* mm = mm_scratch_.data();
  const int nt = n_threads_;
  const bool par = n >= kParallelTokens;
  if (!par && nt > 1 && !observer_) return forward_decode(tokens, n, pos0, out_from, out);
  const OpsKernels& ops = ops_kernels();
  // Every weight matmul goes through here, so an observer sees each one's input.
  const auto matmul = [&](const TensorView& wt, const float* in, int rows, float* y, uint8_t* scratch, int threads) {
    if (observer_) observer_->observe(wt, in, rows);
    kq::matmul(wt, in, rows, y, scratch, threads);
  };

  // Token embeddings (one dequantized row of token_embd per token) and the RoPE angles of each
  // position, shared by every layer and head.
  const TypeTraits& embd_type = type_traits(w.token_embd.type);
  for_token_ranges(n, nt, par, [&](int t0, int t1) {
    for (int t = t0; t < t1; ++t) {
      embd_type.to_float(w.token_embd.row(tokens[t]), x + size_t(t) * n_e, c.n_embd);
      rope_angles(pos0 + t, rope_, rope_cs_.data() + size_t(t) * c.n_rot);
    }
  });

  AttentionBatch attn = attention_batch(c, cache_, pos0, n, q, att_.data());
  const int n_items = attn.plan(nt);
  const bool par_attn = nt > 1 && n_items > 1 && attn.flops() >= kParallelAttentionFlops;

  for (int il = 0; il < c.n_layer; ++il) {
    const LayerWeights& l = w.layers[size_t(il)];
    attn.il = il;

    // Attention input: the previous layer's FFN residual, then RMSNorm scaled by attn_norm.
    for_token_ranges(n, nt, par, [&](int t0, int t1) {
      for (int t = t0; t < t1; ++t) {
        if (il > 0) ops.add(x + size_t(t) * n_e, xo + size_t(t) * n_e, c.n_embd);
        ops.rmsnorm(x + size_t(t) * n_e, l.attn_norm.f32(), xb + size_t(t) * n_e, c.n_embd, c.rms_eps);
      }
    });

    // Q, K, V projections for the whole batch.
    matmul(l.wq, xb, n, q, mm, nt);
    matmul(l.wk, xb, n, k, mm, nt);
    matmul(l.wv, xb, n, v, mm, nt);

    // One region: biases (qwen2), RoPE and the cache store per token range, then causal attention
    // over work items (token t sees positions 0..pos0+t; query head h reads KV head h/group).
    auto prepare = [&](int t0, int t1) {
      for (int t = t0; t < t1; ++t) {
        float* qt = q + size_t(t) * n_q;
        float* kt = k + size_t(t) * n_k;
        if (l.bq.present()) ops.add(qt, l.bq.f32(), c.n_embd_q());
        if (l.bk.present()) ops.add(kt, l.bk.f32(), c.n_embd_k());
        if (l.bv.present()) ops.add(v + size_t(t) * n_v, l.bv.f32(), c.n_embd_v());
        const float* cs = rope_cs_.data() + size_t(t) * c.n_rot;
        ops.rope_apply(qt, c.n_head, c.head_dim, rope_, cs);
        ops.rope_apply(kt, c.n_head_kv, c.head_dim, rope_, cs);
      }
      if (t0 < t1) cache_.store(il, pos0 + t0, t1 - t0, k + size_t(t0) * n_k, v + size_t(t0) * n_v);
    };
    // Decode prepares on the calling thread, so its region has no barrier but the closing one.
    if (!par) prepare(0, n);
    if (par || par_attn) {
#pragma omp parallel num_threads(nt)
      {
        const int tid = omp_get_thread_num(), nth = omp_get_num_threads();
        if (par) {
          prepare(int(int64_t(n) * tid / nth), int(int64_t(n) * (tid + 1) / nth));
#pragma omp barrier
        }
        AttentionScratch& scratch = attn_scratch_[size_t(tid)];
        if (par_attn) {
#pragma omp for schedule(dynamic, 1) nowait
          for (int it = 0; it < n_items; ++it) attn.run_item(it, scratch);
        } else if (tid == 0) {
          for (int it = 0; it < n_items; ++it) attn.run_item(it, scratch);
        }
      }
    } else {
      for (int it = 0; it < n_items; ++it) attn.run_item(it, attn_scratch_[0]);
    }

    // Output projection; its bias and the residual, then RMSNorm scaled by ffn_norm.
    matmul(l.wo, att_.data(), n, xo, mm, nt);
    for_token_ranges(n, nt, par, [&](int t0, int t1) {
      for (int t = t0; t < t1; ++t) {
        float* xt = x + size_t(t) * n_e;
        if (l.bo.present()) ops.add(xo + size_t(t) * n_e, l.bo.f32(), c.n_embd);
        ops.add(xt, xo + size_t(t) * n_e, c.n_embd);
        ops.rmsnorm(xt, l.ffn_norm.f32(), xb + size_t(t) * n_e, c.n_embd, c.rms_eps);
      }
    });

    // SwiGLU: silu(gate) · up, then the down projection (its residual joins the next block).
    matmul(l.w_gate, xb, n, hb_.data(), mm, nt);
    matmul(l.w_up, xb, n, hb2_.data(), mm, nt);
    for_token_ranges(n, nt, par, [&](int t0, int t1) {
      for (int t = t0; t < t1; ++t) ops.silu_mul(hb_.data() + size_t(t) * n_f, hb2_.data() + size_t(t) * n_f, c.n_ff);
    });
    matmul(l.w_down, hb_.data(), n, xo, mm, nt);
  }

  // The last residual, the final norm and the vocabulary projection, only for the kept tokens.
  if (out_from >= n) return;
  for_token_ranges(n - out_from, nt, n - out_from >= kParallelTokens, [&](int t0, int t1) {
    for (int t = out_from + t0; t < out_from + t1; ++t) {
      ops.add(x + size_t(t) * n_e, xo + size_t(t) * n_e, c.n_embd);
      ops.rmsnorm(x + size_t(t) * n_e, w.output_norm.f32(), xb + size_t(t) * n_e, c.n_embd, c.rms_eps);
    }
  });
  matmul(w.output, xb + size_t(out_from) * n_e, n - out_from, out, mm, nt);
}

namespace {

// One weight of a projection and where its output rows go.
struct Projection {
  const TensorView* w;
  float* y;  // [n_tokens][w->n_rows()]
};

}  // namespace

void Session::forward_decode(const int32_t* tokens, int n, int pos0, int out_from, float* out) {
  const ModelConfig& c = model_.config();
  const ModelWeights& w = model_.weights();
  // The per-token steps are forward()'s, in the same order, so the logits are the same bits.
  const size_t n_e = size_t(c.n_embd), n_q = size_t(c.n_embd_q()), n_k = size_t(c.n_embd_k());
  const size_t n_v = size_t(c.n_embd_v()), n_f = size_t(c.n_ff);
  float* x = x_.data();
  float* xb = xb_.data();
  float* xo = xo_.data();
  float* q = q_.data();
  float* k = k_.data();
  float* v = v_.data();
  float* hb = hb_.data();
  float* hb2 = hb2_.data();
  uint8_t* mm = mm_scratch_.data();
  const int nt = n_threads_;
  const OpsKernels& ops = ops_kernels();
  const TypeTraits& embd_type = type_traits(w.token_embd.type);

  AttentionBatch attn = attention_batch(c, cache_, pos0, n, q, att_.data());
  const int n_items = attn.plan(nt);
  const bool par_attn = n_items > 1 && attn.flops() >= kParallelAttentionFlops;

#pragma omp parallel num_threads(nt)
  {
    AttentionScratch& scratch = attn_scratch_[size_t(omp_get_thread_num())];
    // Runs `serial` (the step that writes `in`) on one thread, converts `in` there, then every
    // weight's row chunks over the team; one conversion serves weights that share it. Ends with
    // a barrier, so the outputs are complete.
    const auto project = [&](auto&& serial, const float* in, int rows, std::initializer_list<Projection> ps) {
      const Projection* p = ps.begin();
      bool shared = true;
      for (const Projection& e : ps) shared = shared && same_activations(*p->w, *e.w);
#pragma omp single
      {
        serial();
        matmul_convert(*p->w, in, rows, mm);
      }
      for (size_t i = 0; i < ps.size(); ++i) {
        if (i > 0 && !shared) {
#pragma omp barrier
#pragma omp single
          matmul_convert(*p[i].w, in, rows, mm);
        }
        matmul_rows_in_team(*p[i].w, in, rows, p[i].y, mm, nt);
      }
#pragma omp barrier
    };

    for (int il = 0; il < c.n_layer; ++il) {
      const LayerWeights& l = w.layers[size_t(il)];
      // Embeddings and RoPE angles (first layer), the residual and RMSNorm; Q, K, V projections.
      const auto attn_input = [&] {
        for (int t = 0; t < n && il == 0; ++t) {
          embd_type.to_float(w.token_embd.row(tokens[t]), x + size_t(t) * n_e, c.n_embd);
          rope_angles(pos0 + t, rope_, rope_cs_.data() + size_t(t) * c.n_rot);
        }
        for (int t = 0; t < n; ++t) {
          if (il > 0) ops.add(x + size_t(t) * n_e, xo + size_t(t) * n_e, c.n_embd);
          ops.rmsnorm(x + size_t(t) * n_e, l.attn_norm.f32(), xb + size_t(t) * n_e, c.n_embd, c.rms_eps);
        }
      };
      project(attn_input, xb, n, {{&l.wq, q}, {&l.wk, k}, {&l.wv, v}});

      // Biases, RoPE and the cache store, then attention: over the team when it is long enough.
      const auto prepare = [&] {
        for (int t = 0; t < n; ++t) {
          float* qt = q + size_t(t) * n_q;
          float* kt = k + size_t(t) * n_k;
          if (l.bq.present()) ops.add(qt, l.bq.f32(), c.n_embd_q());
          if (l.bk.present()) ops.add(kt, l.bk.f32(), c.n_embd_k());
          if (l.bv.present()) ops.add(v + size_t(t) * n_v, l.bv.f32(), c.n_embd_v());
          const float* cs = rope_cs_.data() + size_t(t) * c.n_rot;
          ops.rope_apply(qt, c.n_head, c.head_dim, rope_, cs);
          ops.rope_apply(kt, c.n_head_kv, c.head_dim, rope_, cs);
        }
        cache_.store(il, pos0, n, k, v);
      };
      attn.il = il;
      if (par_attn) {
#pragma omp single
        prepare();
#pragma omp for schedule(dynamic, 1)
        for (int it = 0; it < n_items; ++it) attn.run_item(it, scratch);
        project([] {}, att_.data(), n, {{&l.wo, xo}});
      } else {
        project(
            [&] {
              prepare();
              for (int it = 0; it < n_items; ++it) attn.run_item(it, scratch);
            },
            att_.data(), n, {{&l.wo, xo}});
      }

      // Output bias, residual and RMSNorm; gate and up; SiLU·mul and the down projection.
      const auto ffn_input = [&] {
        for (int t = 0; t < n; ++t) {
          float* xt = x + size_t(t) * n_e;
          if (l.bo.present()) ops.add(xo + size_t(t) * n_e, l.bo.f32(), c.n_embd);
          ops.add(xt, xo + size_t(t) * n_e, c.n_embd);
          ops.rmsnorm(xt, l.ffn_norm.f32(), xb + size_t(t) * n_e, c.n_embd, c.rms_eps);
        }
      };
      project(ffn_input, xb, n, {{&l.w_gate, hb}, {&l.w_up, hb2}});
      const auto silu = [&] {
        for (int t = 0; t < n; ++t) ops.silu_mul(hb + size_t(t) * n_f, hb2 + size_t(t) * n_f, c.n_ff);
      };
      project(silu, hb, n, {{&l.w_down, xo}});
    }

    // The last residual, the final norm and the vocabulary projection, only for the kept tokens.
    if (out_from < n) {
      const auto final_norm = [&] {
        for (int t = out_from; t < n; ++t) {
          ops.add(x + size_t(t) * n_e, xo + size_t(t) * n_e, c.n_embd);
          ops.rmsnorm(x + size_t(t) * n_e, w.output_norm.f32(), xb + size_t(t) * n_e, c.n_embd, c.rms_eps);
        }
      };
      project(final_norm, xb + size_t(out_from) * n_e, n - out_from, {{&w.output, out}});
    }
  }
}

}  // namespace kq

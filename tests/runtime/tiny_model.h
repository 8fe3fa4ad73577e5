// Test helper: writes small random llama/qwen2 GGUFs and runs an independent double-precision forward.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "formats/gguf.h"

namespace kq::test {

struct TinySpec {
  std::string arch = "llama";
  int n_vocab = 64, n_embd = 32, n_layer = 2, n_ff = 48, n_head = 4, n_head_kv = 2, n_ctx_train = 96;
  float rope_base = 10000.0f;
  float rope_factor = 0.0f;  // > 0: writes rope.scaling.type linear with this factor
  int n_rot = 0;             // > 0: writes rope.dimension_count (partial rotation)
  bool tied = false;         // omit output.weight
  bool rope_freqs = false;   // add a Llama-3 style rope_freqs.weight
  uint32_t seed = 7;
};

// A tensor in ggml order: ne = {row length, rows}; data is row-major F32.
struct TinyTensor {
  std::vector<int64_t> ne;
  std::vector<float> data;
};

struct TinyModel {
  TinySpec spec;
  std::map<std::string, TinyTensor> tensors;
  bool qwen2() const { return spec.arch == "qwen2"; }
  int head_dim() const { return spec.n_embd / spec.n_head; }
  int n_rot() const { return spec.n_rot > 0 ? spec.n_rot : head_dim(); }
  const TinyTensor& t(const std::string& name) const { return tensors.at(name); }
  bool has(const std::string& name) const { return tensors.count(name) != 0; }
};

// Makes random weights for the spec (N(0, 0.2²) matrices, norms near 1, biases N(0, 0.1²)).
inline TinyModel make_tiny_model(const TinySpec& s) {
  TinyModel m{s, {}};
  std::mt19937 rng(s.seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  auto add = [&](const std::string& name, std::vector<int64_t> ne, float scale, float offset) {
    TinyTensor t{ne, std::vector<float>(size_t(ne[0] * (ne.size() > 1 ? ne[1] : 1)))};
    for (float& v : t.data) v = offset + scale * nd(rng);
    m.tensors[name] = t;
  };
  const int E = s.n_embd, D = E / s.n_head, Q = s.n_head * D, K = s.n_head_kv * D;
  add("token_embd.weight", {E, s.n_vocab}, 0.5f, 0.0f);
  add("output_norm.weight", {E}, 0.1f, 1.0f);
  if (!s.tied) add("output.weight", {E, s.n_vocab}, 0.2f, 0.0f);
  if (s.rope_freqs) {
    const int n_rot = s.n_rot > 0 ? s.n_rot : D;
    TinyTensor f{{n_rot / 2}, {}};
    for (int i = 0; i < n_rot / 2; ++i) f.data.push_back(i < n_rot / 4 ? 1.0f : 1.0f + 0.7f * float(i));
    m.tensors["rope_freqs.weight"] = f;
  }
  for (int il = 0; il < s.n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    add(p + "attn_norm.weight", {E}, 0.1f, 1.0f);
    add(p + "attn_q.weight", {E, Q}, 0.2f, 0.0f);
    add(p + "attn_k.weight", {E, K}, 0.2f, 0.0f);
    add(p + "attn_v.weight", {E, K}, 0.2f, 0.0f);
    add(p + "attn_output.weight", {Q, E}, 0.2f, 0.0f);
    if (s.arch == "qwen2") {
      add(p + "attn_q.bias", {Q}, 0.1f, 0.0f);
      add(p + "attn_k.bias", {K}, 0.1f, 0.0f);
      add(p + "attn_v.bias", {K}, 0.1f, 0.0f);
    }
    add(p + "ffn_norm.weight", {E}, 0.1f, 1.0f);
    add(p + "ffn_gate.weight", {E, s.n_ff}, 0.2f, 0.0f);
    add(p + "ffn_up.weight", {E, s.n_ff}, 0.2f, 0.0f);
    add(p + "ffn_down.weight", {s.n_ff, E}, 0.2f, 0.0f);
  }
  return m;
}

// Writes the model as an F32 GGUF (metadata as llama.cpp's converter names it).
inline void write_tiny_model(const TinyModel& m, const std::string& path) {
  const TinySpec& s = m.spec;
  const std::string a = s.arch + ".";
  GgufWriter w;
  w.set("general.architecture", GgufValue::string(s.arch));
  w.set(a + "context_length", GgufValue::u32(uint32_t(s.n_ctx_train)));
  w.set(a + "embedding_length", GgufValue::u32(uint32_t(s.n_embd)));
  w.set(a + "block_count", GgufValue::u32(uint32_t(s.n_layer)));
  w.set(a + "feed_forward_length", GgufValue::u32(uint32_t(s.n_ff)));
  w.set(a + "attention.head_count", GgufValue::u32(uint32_t(s.n_head)));
  w.set(a + "attention.head_count_kv", GgufValue::u32(uint32_t(s.n_head_kv)));
  w.set(a + "attention.layer_norm_rms_epsilon", GgufValue::f32(1e-5f));
  w.set(a + "rope.freq_base", GgufValue::f32(s.rope_base));
  if (s.n_rot > 0) w.set(a + "rope.dimension_count", GgufValue::u32(uint32_t(s.n_rot)));
  if (s.rope_factor > 0) {
    w.set(a + "rope.scaling.type", GgufValue::string("linear"));
    w.set(a + "rope.scaling.factor", GgufValue::f32(s.rope_factor));
  }
  w.set(a + "vocab_size", GgufValue::u32(uint32_t(s.n_vocab)));
  for (const auto& [name, t] : m.tensors) w.add_tensor(name, QType::F32, t.ne, t.data.data());
  w.write(path);
}

// y = W·x in double for a [k, n] tensor.
inline std::vector<double> ref_matvec(const TinyTensor& w, const std::vector<double>& x) {
  const int64_t k = w.ne[0], n = w.ne[1];
  std::vector<double> y(size_t(n), 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < k; ++i) y[size_t(r)] += double(w.data[size_t(r * k + i)]) * x[size_t(i)];
  return y;
}

inline std::vector<double> ref_rmsnorm(const std::vector<double>& x, const TinyTensor& w) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double s = 1.0 / std::sqrt(ss / double(x.size()) + 1e-5);
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * s * double(w.data[i]);
  return y;
}

// Rotates each head's first n_rot dims with the textbook formula (angle in double).
inline void ref_rope(const TinyModel& m, std::vector<double>& x, int n_heads, int pos) {
  const int D = m.head_dim(), R = m.n_rot();
  const double scale = m.spec.rope_factor > 0 ? 1.0 / m.spec.rope_factor : 1.0;
  for (int h = 0; h < n_heads; ++h) {
    for (int i = 0; i < R / 2; ++i) {
      double theta = pos * scale * std::pow(double(m.spec.rope_base), -2.0 * i / R);
      if (m.has("rope_freqs.weight")) theta /= m.t("rope_freqs.weight").data[size_t(i)];
      const int a = h * D + (m.qwen2() ? i : 2 * i);
      const int b = a + (m.qwen2() ? R / 2 : 1);
      const double x0 = x[size_t(a)], x1 = x[size_t(b)];
      x[size_t(a)] = x0 * std::cos(theta) - x1 * std::sin(theta);
      x[size_t(b)] = x0 * std::sin(theta) + x1 * std::cos(theta);
    }
  }
}

// Logits for every position of `tokens` (one sequence from position 0), all in double.
inline std::vector<std::vector<double>> ref_forward(const TinyModel& m, const std::vector<int32_t>& tokens) {
  const TinySpec& s = m.spec;
  const int E = s.n_embd, D = m.head_dim(), H = s.n_head, G = s.n_head / s.n_head_kv;
  const size_t n = tokens.size();
  std::vector<std::vector<double>> x(n), keys(n), vals(n), logits(n);
  for (size_t t = 0; t < n; ++t)
    for (int i = 0; i < E; ++i) x[t].push_back(m.t("token_embd.weight").data[size_t(tokens[t]) * E + size_t(i)]);
  for (int il = 0; il < s.n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    auto bias = [&](std::vector<double>& v, const std::string& name) {
      if (m.has(p + name))
        for (size_t i = 0; i < v.size(); ++i) v[i] += m.t(p + name).data[i];
    };
    std::vector<std::vector<double>> qs(n);
    for (size_t t = 0; t < n; ++t) {
      const auto xn = ref_rmsnorm(x[t], m.t(p + "attn_norm.weight"));
      qs[t] = ref_matvec(m.t(p + "attn_q.weight"), xn);
      keys[t] = ref_matvec(m.t(p + "attn_k.weight"), xn);
      vals[t] = ref_matvec(m.t(p + "attn_v.weight"), xn);
      bias(qs[t], "attn_q.bias"), bias(keys[t], "attn_k.bias"), bias(vals[t], "attn_v.bias");
      ref_rope(m, qs[t], H, int(t));
      ref_rope(m, keys[t], s.n_head_kv, int(t));
    }
    for (size_t t = 0; t < n; ++t) {
      std::vector<double> att(size_t(H * D), 0.0);
      for (int h = 0; h < H; ++h) {
        const int g = h / G;
        std::vector<double> w(t + 1);
        double mx = -1e300, sum = 0;
        for (size_t j = 0; j <= t; ++j) {
          double dot = 0;
          for (int d = 0; d < D; ++d) dot += qs[t][size_t(h * D + d)] * keys[j][size_t(g * D + d)];
          w[j] = dot / std::sqrt(double(D));
          mx = std::max(mx, w[j]);
        }
        for (double& v : w) sum += (v = std::exp(v - mx));
        for (size_t j = 0; j <= t; ++j)
          for (int d = 0; d < D; ++d) att[size_t(h * D + d)] += w[j] / sum * vals[j][size_t(g * D + d)];
      }
      const auto o = ref_matvec(m.t(p + "attn_output.weight"), att);
      for (int i = 0; i < E; ++i) x[t][size_t(i)] += o[size_t(i)];
      const auto xn = ref_rmsnorm(x[t], m.t(p + "ffn_norm.weight"));
      auto g = ref_matvec(m.t(p + "ffn_gate.weight"), xn);
      const auto u = ref_matvec(m.t(p + "ffn_up.weight"), xn);
      for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
      const auto down = ref_matvec(m.t(p + "ffn_down.weight"), g);
      for (int i = 0; i < E; ++i) x[t][size_t(i)] += down[size_t(i)];
    }
  }
  const TinyTensor& out = m.has("output.weight") ? m.t("output.weight") : m.t("token_embd.weight");
  for (size_t t = 0; t < n; ++t) logits[t] = ref_matvec(out, ref_rmsnorm(x[t], m.t("output_norm.weight")));
  return logits;
}

}  // namespace kq::test

// Token generation loop (sample → stream → eval) and the sampling/session flags of `kq run` and `kq chat`.
#include "apps/kq/generate.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>

#include "common/error.h"
#include "quant/registry.h"
#include "runtime/memory_budget.h"
#include "runtime/memory_plan.h"
#include "runtime/model.h"
#include "runtime/tokenizer.h"

namespace kq::app {

const char* const kSamplingUsage =
    "  --temp T                temperature (default 0.8; <= 0: greedy)\n"
    "  --top-k K               keep the K most likely tokens (default 40; 0: off)\n"
    "  --top-p P               keep the smallest set with probability mass P (default 0.95; 1: off)\n"
    "  --min-p P               drop tokens below P times the best one's probability (default 0.05; 0: off)\n"
    "  --repeat-penalty X      penalize the last --repeat-last-n tokens (default 1.0: off)\n"
    "  --repeat-last-n N       history the penalties look at (default 64; -1: all)\n"
    "  --frequency-penalty X   subtract X per earlier occurrence (default 0)\n"
    "  --presence-penalty X    subtract X once for any earlier occurrence (default 0)\n"
    "  --seed N                random seed (default: a fresh one, printed unless --quiet)\n";

const char* const kSessionUsage =
    "  -c, --ctx-size N        context length (default: the model's, at most 4096)\n"
    "  -b, --batch-size N      tokens per forward pass when evaluating the prompt (default 512)\n"
    "  -t, --threads N         threads (default: physical cores)\n"
    "  --cache-type T          KV cache type: f32, f16 (default) or q8_0\n"
    "  --fit                   the largest context (up to the model's) that fits the available memory\n";

std::vector<TokenLogit> top_logits(const float* logits, int n_vocab, int k) {
  std::vector<TokenLogit> c(static_cast<size_t>(n_vocab));
  for (int i = 0; i < n_vocab; ++i) c[size_t(i)] = {i, logits[i]};
  k = std::min(k, n_vocab);
  const auto higher = [](const TokenLogit& a, const TokenLogit& b) {
    return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
  };
  std::partial_sort(c.begin(), c.begin() + k, c.end(), higher);
  c.resize(size_t(k));
  return c;
}

GenerateResult generate(Session& session, const Tokenizer& tok, Sampler& sampler, const GenerateOptions& o,
                        const std::function<void(std::string_view)>& on_text) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  GenerateResult r;
  Utf8Stream utf8;
  const auto emit = [&](const std::string& s) {
    r.text += s;
    if (on_text && !s.empty()) on_text(s);
  };
  const int n_vocab = session.n_vocab();
  for (;;) {
    if (o.n_predict >= 0 && int(r.tokens.size()) >= o.n_predict) {
      r.finish_reason = "length";
      break;
    }
    if (o.stop && o.stop->load()) {
      r.finish_reason = "interrupted";
      break;
    }
    const float* logits = session.logits();
    if (o.top_logits > 0) r.top.push_back(top_logits(logits, n_vocab, o.top_logits));
    const int32_t id = sampler.sample(logits, n_vocab);
    sampler.accept(id);
    if (tok.is_eog(id)) {
      r.finish_reason = "eog";
      break;
    }
    r.tokens.push_back(id);
    // Control tokens are markup for the model, not text for the reader.
    if (tok.token_type(id) != int32_t(TokenType::kControl)) emit(utf8.push(tok.token_to_piece(id)));
    if (o.n_predict >= 0 && int(r.tokens.size()) >= o.n_predict) {
      r.finish_reason = "length";
      break;
    }
    if (session.n_past() >= session.n_ctx()) {
      r.finish_reason = "context";
      break;
    }
    session.eval({id});
  }
  emit(utf8.flush());
  r.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  return r;
}

bool parse_sampling_flag(const std::vector<std::string>& args, size_t& i, SamplerParams& p) {
  const std::string& a = args[i];
  if (a == "--temp") {
    p.temp = float(parse_number(a, flag_value(args, i)));
  } else if (a == "--top-k") {
    p.top_k = parse_int(a, flag_value(args, i));
  } else if (a == "--top-p") {
    p.top_p = float(parse_number(a, flag_value(args, i)));
  } else if (a == "--min-p") {
    p.min_p = float(parse_number(a, flag_value(args, i)));
  } else if (a == "--repeat-penalty") {
    p.repeat_penalty = float(parse_number(a, flag_value(args, i)));
  } else if (a == "--repeat-last-n") {
    p.repeat_last_n = parse_int(a, flag_value(args, i));
  } else if (a == "--frequency-penalty") {
    p.freq_penalty = float(parse_number(a, flag_value(args, i)));
  } else if (a == "--presence-penalty") {
    p.presence_penalty = float(parse_number(a, flag_value(args, i)));
  } else if (a == "--seed") {
    const std::string& v = flag_value(args, i);
    uint64_t seed = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seed);
    if (ec != std::errc() || end != v.data() + v.size() || seed == kRandomSeed)
      throw UsageError("option --seed needs an integer below 2^64 - 1, got '" + v + "'");
    p.seed = seed;
  } else {
    return false;
  }
  return true;
}

bool parse_session_flag(const std::vector<std::string>& args, size_t& i, SessionOptions& o) {
  const std::string& a = args[i];
  if (a == "-c" || a == "--ctx-size") {
    o.n_ctx = parse_int(a, flag_value(args, i));
    if (o.n_ctx < 0) throw UsageError("option " + a + " needs a size >= 0");
  } else if (a == "-b" || a == "--batch-size") {
    o.n_batch = parse_int(a, flag_value(args, i));
    if (o.n_batch < 1) throw UsageError("option " + a + " needs a size >= 1");
  } else if (a == "-t" || a == "--threads") {
    o.n_threads = parse_int(a, flag_value(args, i));
    if (o.n_threads < 0) throw UsageError("option " + a + " needs a count >= 0");
  } else if (a == "--cache-type") {
    const std::string& v = flag_value(args, i);
    if (v == "f32")
      o.cache_type = QType::F32;
    else if (v == "f16")
      o.cache_type = QType::F16;
    else if (v == "q8_0")
      o.cache_type = QType::Q8_0;
    else
      throw UsageError("option --cache-type takes f32, f16 or q8_0, got '" + v + "'");
  } else {
    return false;
  }
  return true;
}

void fit_context(const Model& model, SessionOptions& o, const char* command, bool quiet) {
  const ModelHeader header = ModelHeader::from_gguf(model.gguf());
  const MemoryBudget budget = memory_budget();
  const int n_ctx = largest_fitting_context(header, o, budget.budget, model.config().n_ctx_train);
  SessionOptions one = o;
  one.n_ctx = 1;
  if (n_ctx == 0)
    throw Error("--fit: the model does not fit in the available memory even with a context of 1 (it needs " +
                std::to_string(plan_memory(header, one).total >> 20) + " MiB, the budget is " +
                std::to_string(budget.budget >> 20) + " MiB)");
  o.n_ctx = n_ctx;
  if (quiet) return;
  SessionOptions chosen = o;
  const MemoryPlan plan = plan_memory(header, chosen);
  std::fprintf(stderr, "kq %s: --fit: context %d of the model's %d (plan %llu MiB of a %llu MiB budget)\n", command,
               n_ctx, model.config().n_ctx_train, static_cast<unsigned long long>(plan.total >> 20),
               static_cast<unsigned long long>(budget.budget >> 20));
}

void warn_if_beyond_trained_context(const Model& model, int n_ctx, const char* command) {
  const int n_ctx_train = model.config().n_ctx_train;
  if (n_ctx_train > 0 && n_ctx > n_ctx_train)
    std::fprintf(stderr,
                 "kq %s: warning: the context of %d tokens is larger than the %d the model was trained with "
                 "(n_ctx_train < n_ctx); quality may drop past %d\n",
                 command, n_ctx, n_ctx_train, n_ctx_train);
}

namespace {

// Reads a stream to its end; false on a read error.
bool read_all(std::FILE* f, std::string& text) {
  char buf[1 << 16];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  return std::ferror(f) == 0;
}

}  // namespace

std::string read_text_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error("cannot open '" + path + "'");
  std::string text;
  const bool ok = read_all(f, text);
  std::fclose(f);
  if (!ok) throw Error("cannot read '" + path + "'");
  return text;
}

std::string read_stdin() {
  std::string text;
  if (!read_all(stdin, text)) throw Error("cannot read the prompt from stdin");
  return text;
}

}  // namespace kq::app

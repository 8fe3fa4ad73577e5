// `kq run`: generates text after a prompt, streamed to stdout (or one JSON object with --json).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "apps/kq/commands.h"
#include "apps/kq/generate.h"
#include "common/error.h"
#include "common/json.h"
#include "runtime/model.h"
#include "runtime/tokenizer.h"

namespace kq::app {

namespace {

constexpr const char* kRunUsage =
    "usage: kq run -m MODEL (-p TEXT | -f FILE | stdin) [options]\n"
    "  -m, --model MODEL       GGUF model\n"
    "  -p, --prompt TEXT       prompt (without -p or -f it is read from stdin)\n"
    "  -f, --file FILE         read the prompt from FILE\n"
    "  -n, --n-predict N       tokens to generate (default 128; -1: until end of text or a full context)\n"
    "  --no-bos                add no BOS to the prompt even where the model asks for one\n"
    "  --json                  print one JSON object (ids, text, finish_reason, timings) instead of text\n"
    "  --top-logits K          with --json: the K highest logits before every generated token\n"
    "  --repack, --no-repack   interleave Q8_0 weights at load for the AVX-512 VNNI repacked kernel, or\n"
    "                          keep the file's layout (the default: repacking measured no faster yet)\n"
    "  --quiet                 no load or timing lines on stderr\n";

struct RunOptions {
  LoadOptions load;  // --repack / --no-repack
  std::string model;
  std::string prompt;
  bool have_prompt = false;
  int n_predict = 128;
  bool add_bos = true;
  bool json = false;
  int top_logits = 0;
  bool quiet = false;
  bool fit = false;  // --fit: choose the context from the memory budget
  SessionOptions session;
  SamplerParams sampling;
};

RunOptions parse_run_args(const std::vector<std::string>& args) {
  RunOptions o;
  const auto set_prompt = [&](std::string text) {
    if (o.have_prompt) throw UsageError("give the prompt once: -p TEXT or -f FILE");
    o.prompt = std::move(text);
    o.have_prompt = true;
  };
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (parse_sampling_flag(args, i, o.sampling) || parse_session_flag(args, i, o.session)) continue;
    if (a == "-m" || a == "--model") {
      o.model = flag_value(args, i);
    } else if (a == "-p" || a == "--prompt") {
      set_prompt(flag_value(args, i));
    } else if (a == "-f" || a == "--file") {
      set_prompt(read_text_file(flag_value(args, i)));
    } else if (a == "-n" || a == "--n-predict") {
      o.n_predict = parse_int(a, flag_value(args, i));
      if (o.n_predict < -1) throw UsageError("option " + a + " needs a count >= -1");
    } else if (a == "--no-bos") {
      o.add_bos = false;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--top-logits") {
      o.top_logits = parse_int(a, flag_value(args, i));
      if (o.top_logits < 0) throw UsageError("option --top-logits needs a count >= 0");
    } else if (a == "--quiet") {
      o.quiet = true;
    } else if (a == "--fit") {
      o.fit = true;
    } else if (a == "--repack" || a == "--no-repack") {
      o.load.repack = a == "--repack";
    } else {
      throw UsageError("unknown option '" + a + "'");
    }
  }
  if (o.model.empty()) throw UsageError("missing -m MODEL");
  if (o.fit && o.session.n_ctx > 0) throw UsageError("give -c N or --fit, not both");
  if (o.top_logits > 0 && !o.json) throw UsageError("--top-logits needs --json");
  if (!o.have_prompt) {
    o.prompt = read_stdin();
    o.have_prompt = true;
  }
  return o;
}

double per_second(size_t n, double ms) {
  return ms > 0 ? double(n) * 1000.0 / ms : 0.0;
}

json::Value ids_json(const std::vector<int32_t>& ids) {
  json::Value a = json::Value::array();
  for (const int32_t id : ids) a.push_back(id);
  return a;
}

json::Value result_json(const std::vector<int32_t>& prompt, double prompt_ms, const GenerateResult& g) {
  json::Value timings = json::Value::object();
  timings.set("prompt_ms", prompt_ms);
  timings.set("prompt_per_second", per_second(prompt.size(), prompt_ms));
  timings.set("gen_ms", g.ms);
  timings.set("gen_per_second", per_second(g.tokens.size(), g.ms));
  json::Value out = json::Value::object();
  out.set("prompt_tokens", ids_json(prompt));
  out.set("text", sanitize_utf8(g.text));
  out.set("tokens", ids_json(g.tokens));
  out.set("finish_reason", g.finish_reason);
  out.set("timings", std::move(timings));
  if (!g.top.empty()) {
    json::Value steps = json::Value::array();
    for (const auto& step : g.top) {
      json::Value entries = json::Value::array();
      for (const TokenLogit& t : step) {
        json::Value e = json::Value::object();
        e.set("id", t.id);
        e.set("logit", double(t.logit));
        entries.push_back(std::move(e));
      }
      steps.push_back(std::move(entries));
    }
    out.set("top_logits", std::move(steps));
  }
  return out;
}

int run(const RunOptions& o) {
  using Clock = std::chrono::steady_clock;
  const auto ms_since = [](Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  };
  const auto t_load = Clock::now();
  const auto model = Model::load(o.model, o.load);
  const auto tok = Tokenizer::from_gguf(model->gguf());
  SessionOptions session_options = o.session;
  if (o.fit) fit_context(*model, session_options, "run", o.quiet);
  warn_if_beyond_trained_context(*model, session_options.n_ctx, "run");
  Session session(*model, session_options);
  if (!o.quiet)
    std::fprintf(stderr, "kq run: loaded %s in %.0f ms (context %d, %d threads)\n", o.model.c_str(), ms_since(t_load),
                 session.n_ctx(), session.n_threads());

  const std::vector<int32_t> prompt = tok->encode(o.prompt, o.add_bos);
  if (prompt.empty()) throw Error("the prompt is empty (no tokens to start from)");
  if (int(prompt.size()) > session.n_ctx())
    throw Error("the prompt is " + std::to_string(prompt.size()) + " tokens, longer than the context of " +
                std::to_string(session.n_ctx()) + " (raise -c)");

  Sampler sampler(o.sampling);
  if (!o.quiet && o.sampling.temp > 0)
    std::fprintf(stderr, "kq run: seed %llu\n", static_cast<unsigned long long>(sampler.seed()));
  for (const int32_t id : prompt) sampler.accept(id);  // penalties look at the prompt too, as in llama.cpp

  const auto t_prompt = Clock::now();
  session.eval(prompt);
  const double prompt_ms = ms_since(t_prompt);

  GenerateOptions g;
  g.n_predict = o.n_predict;
  g.top_logits = o.top_logits;
  std::function<void(std::string_view)> stream;
  if (!o.json) {
    stream = [](std::string_view s) {
      std::fwrite(s.data(), 1, s.size(), stdout);
      std::fflush(stdout);  // per token, so a reader sees the text as it comes
    };
  }
  const GenerateResult r = generate(session, *tok, sampler, g, stream);

  if (o.json) {
    const std::string text = json::dump(result_json(prompt, prompt_ms, r)) + "\n";
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else if (isatty(STDOUT_FILENO)) {
    std::fputc('\n', stdout);  // leave the shell prompt on its own line; pipes get the text exactly
  }
  std::fflush(stdout);
  if (!o.quiet) {
    std::fprintf(stderr, "kq run: prompt %zu tokens in %.1f ms (%.2f t/s)\n", prompt.size(), prompt_ms,
                 per_second(prompt.size(), prompt_ms));
    std::fprintf(stderr, "kq run: generated %zu tokens in %.1f ms (%.2f t/s), stop: %s\n", r.tokens.size(), r.ms,
                 per_second(r.tokens.size(), r.ms), r.finish_reason.c_str());
  }
  return 0;
}

}  // namespace

int cmd_run(const std::vector<std::string>& args) {
  static const std::string usage_text = std::string(kRunUsage) + kSessionUsage + kSamplingUsage;
  const char* usage = usage_text.c_str();
  return run_command("run", usage, args, [&] { return run(parse_run_args(args)); });
}

}  // namespace kq::app

// `kq ppl`: perplexity of a text, and KL divergence against a base model's logits (llama-perplexity's output).
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/kq/commands.h"
#include "apps/kq/generate.h"
#include "apps/kq/perplexity_args.h"
#include "common/error.h"
#include "runtime/model.h"
#include "runtime/perplexity.h"
#include "runtime/tokenizer.h"

namespace kq::app {

namespace {

constexpr const char* kPplUsage =
    "usage: kq ppl -m MODEL -f TEXT [options]\n"
    "       kq ppl -m MODEL -f TEXT --kl-divergence-base FILE          (write FILE from this model)\n"
    "       kq ppl -m MODEL --kl-divergence-base FILE --kl-divergence  (compare this model with FILE)\n"
    "  -m, --model MODEL       GGUF model\n"
    "  -f, --file TEXT         text to score (tokenized with BOS where the model adds one)\n"
    "  -c, --ctx-size N        tokens per chunk (default 512; with --kl-divergence: the base file's)\n"
    "  -b, --batch-size N      tokens per forward pass (default: the chunk)\n"
    "  --repack, --no-repack   interleave Q8_0 weights at load for the AVX-512 VNNI repacked kernel, or\n"
    "                          keep the file's layout (the default: repacking measured no faster yet)\n"
    "  -t, --threads N         threads (default: physical cores)\n"
    "  --chunks N              score only the first N chunks\n"
    "  --kl-divergence-base F  llama-perplexity logits file to write (or read with --kl-divergence)\n"
    "  --kl-divergence         compare against --kl-divergence-base instead of writing it\n";

struct PplOptions : PerplexityArgs {
  LoadOptions load;  // --repack / --no-repack
  std::string kld_base;
  bool kld = false;
};

PplOptions parse_ppl_args(const std::vector<std::string>& args) {
  PplOptions o;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (parse_perplexity_flag(args, i, o)) continue;
    if (a == "--kl-divergence-base") {
      o.kld_base = flag_value(args, i);
    } else if (a == "--kl-divergence") {
      o.kld = true;
    } else if (a == "--repack" || a == "--no-repack") {
      o.load.repack = a == "--repack";
    } else {
      throw UsageError("unknown option '" + a + "'");
    }
  }
  if (o.model.empty()) throw UsageError("missing -m MODEL");
  if (o.kld && o.kld_base.empty()) throw UsageError("--kl-divergence needs --kl-divergence-base FILE");
  if (!o.kld && o.text_file.empty()) throw UsageError("missing -f TEXT");
  return o;
}

// Prints llama-perplexity's running PPL list ("[1]12.3,[2]11.9,...") on stderr as chunks finish.
ChunkCallback progress_printer(const char* what) {
  return [what](int chunk, int n_chunks, double running) {
    if (chunk == 0) std::fprintf(stderr, "kq ppl: %d chunks, running %s:\n", n_chunks, what);
    std::fprintf(stderr, "[%d]%.4f%s", chunk + 1, running, chunk + 1 == n_chunks ? "\n" : ",");
    std::fflush(stderr);
  };
}

void print_percentile_block(const char* unit, const Percentiles& p, double scale, bool full) {
  const auto row = [&](const char* label, double v) {
    std::printf("%-7s %s: %10.6f%s\n", label, unit, v * scale, scale == 1 ? "" : " %");
  };
  row("Maximum", p.max);
  row("99.9%", p.p99_9);
  row("99.0%", p.p99);
  if (full) row("95.0%", p.p95), row("90.0%", p.p90), row("75.0%", p.p75);
  row("Median", p.median);
  if (full) row("25.0%", p.p25);
  row("10.0%", p.p10);
  row(" 5.0%", p.p5);
  row(" 1.0%", p.p1);
  if (full) row(" 0.1%", p.p0_1);
  row("Minimum", p.min);
}

// Prints the three statistics blocks llama-perplexity ends a --kl-divergence run with.
void print_kld(const KldResult& r) {
  std::printf("====== Perplexity statistics ======\n");
  std::printf("Mean PPL(Q)                   : %10.6f ± %10.6f\n", r.ppl_q, r.ppl_q_err);
  std::printf("Mean PPL(base)                : %10.6f ± %10.6f\n", r.ppl_base, r.ppl_base_err);
  std::printf("Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%\n", 100.0 * r.cor_ln_ppl);
  std::printf("Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f\n", r.mean_ln_ratio, r.mean_ln_ratio_err);
  std::printf("Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f\n", r.ppl_ratio, r.ppl_ratio_err);
  std::printf("Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f\n", r.ppl_diff, r.ppl_diff_err);
  std::printf("\n====== KL divergence statistics ======\n");
  std::printf("Mean    KLD: %10.6f ± %10.6f\n", r.mean_kld, r.mean_kld_err);
  print_percentile_block("KLD", r.kld, 1.0, false);
  std::printf("\n====== Token probability statistics ======\n");
  std::printf("Mean    Δp: %8.3f ± %5.3f %%\n", 100.0 * r.mean_dp, 100.0 * r.mean_dp_err);
  print_percentile_block("Δp", r.dp, 100.0, true);
  std::printf("RMS Δp    : %8.3f ± %5.3f %%\n", 100.0 * r.rms_dp, 100.0 * r.rms_dp_err);
  std::printf("Same top p: %8.3f ± %5.3f %%\n", 100.0 * r.same_top, 100.0 * r.same_top_err);
}

int ppl(PplOptions o) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto model = Model::load(o.model, o.load);
  const auto tok = Tokenizer::from_gguf(model->gguf());
  // llama-perplexity evaluates each chunk's first token as BOS when the vocabulary adds one.
  o.ppl.bos_id = tok->add_bos() ? tok->bos() : -1;
  if (o.kld) {
    const KldResult r = kl_divergence(*model, o.kld_base, o.ppl, progress_printer("mean KLD"));
    std::printf("kl_divergence: %d chunks of %d tokens, %lld positions scored\n\n", r.n_chunks, r.n_ctx,
                static_cast<long long>(r.n_scored));
    print_kld(r);
  } else {
    warn_if_beyond_trained_context(*model, o.ppl.n_ctx, "ppl");
    const std::vector<int32_t> tokens = tok->encode(read_text_file(o.text_file), /*add_special=*/true);
    const PerplexityResult r = perplexity(*model, tokens, o.ppl, o.kld_base, progress_printer("PPL"));
    if (!o.kld_base.empty()) std::fprintf(stderr, "kq ppl: wrote the base logits to %s\n", o.kld_base.c_str());
    std::printf("perplexity: %d chunks of %d tokens, %lld predictions scored\n", r.n_chunks, r.n_ctx,
                static_cast<long long>(r.n_scored));
    std::printf("Final estimate: PPL = %.4f +/- %.5f\n", r.ppl, r.ppl_err);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "kq ppl: %.2f s\n", s);
  return 0;
}

}  // namespace

int cmd_ppl(const std::vector<std::string>& args) {
  const char* usage = kPplUsage;
  return run_command("ppl", usage, args, [&] { return ppl(parse_ppl_args(args)); });
}

}  // namespace kq::app

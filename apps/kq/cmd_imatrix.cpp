// `kq imatrix`: an importance matrix (llama-imatrix's GGUF form) from a model run over calibration text.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/kq/args.h"
#include "apps/kq/commands.h"
#include "apps/kq/duration.h"
#include "apps/kq/generate.h"
#include "apps/kq/perplexity_args.h"
#include "formats/imatrix_file.h"
#include "runtime/imatrix_collector.h"
#include "runtime/model.h"
#include "runtime/perplexity.h"
#include "runtime/tokenizer.h"

namespace kq::app {

namespace {

constexpr const char* kImatrixUsage =
    "usage: kq imatrix -m MODEL -f TEXT -o FILE [options]\n"
    "  -m, --model MODEL     GGUF model (ideally the unquantized one the quants will be made from)\n"
    "  -f, --file TEXT       calibration text, tokenized with BOS where the model adds one and cut into\n"
    "                        chunks; each chunk runs from an empty cache with BOS as its first token\n"
    "  -o, --output FILE     where to write the imatrix (llama-imatrix's GGUF form: per weight W,\n"
    "                        W.in_sum2 = Σ x² per input column and W.counts = tokens seen), for\n"
    "                        kq quantize --imatrix FILE or llama-quantize\n"
    "  -c, --ctx-size N      tokens per chunk (default 512)\n"
    "  -b, --batch-size N    tokens per forward pass (default: the chunk)\n"
    "  --chunks N            use only the first N chunks (default: every whole chunk of the text)\n"
    "  --process-output      collect output.weight too (llama-imatrix leaves it out by default)\n"
    "  -t, --threads N       threads (default: physical cores)\n"
    "Collects the input of every matmul weight of the blocks (attn_q/k/v/output, ffn_gate/up/down).\n"
    "Prints progress with an ETA on stderr and, at the end, the perplexity of the calibration text\n"
    "(second half of each chunk scored, as kq ppl).\n";

struct ImatrixOptions : PerplexityArgs {
  std::string out;
  bool process_output = false;
};

ImatrixOptions parse_imatrix_args(const std::vector<std::string>& args) {
  ImatrixOptions o;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (parse_perplexity_flag(args, i, o)) continue;
    if (a == "-o" || a == "--output") {
      o.out = flag_value(args, i);
    } else if (a == "--process-output") {
      o.process_output = true;
    } else {
      throw UsageError("unknown option '" + a + "'");
    }
  }
  if (o.model.empty()) throw UsageError("missing -m MODEL");
  if (o.text_file.empty()) throw UsageError("missing -f TEXT");
  if (o.out.empty()) throw UsageError("missing -o FILE");
  return o;
}

// Prints one progress line per chunk (redrawn in place on a terminal): chunk, running PPL, ETA.
ChunkCallback progress_printer(std::chrono::steady_clock::time_point start) {
  const bool tty = isatty(STDERR_FILENO) != 0;
  return [tty, start](int chunk, int n_chunks, double ppl) {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double eta = secs / (chunk + 1) * (n_chunks - chunk - 1);
    std::fprintf(stderr, "%skq imatrix: chunk %d/%d, PPL %.4f, %.2f s/chunk, ETA %s%s", tty ? "\r" : "", chunk + 1,
                 n_chunks, ppl, secs / (chunk + 1), minutes_seconds(eta).c_str(),
                 tty ? (chunk + 1 == n_chunks ? "\x1b[K\n" : "\x1b[K") : "\n");
    std::fflush(stderr);
  };
}

int imatrix(ImatrixOptions o) {
  namespace fs = std::filesystem;
  const auto start = std::chrono::steady_clock::now();
  // Fail before the long run, not after it, when FILE cannot be written.
  const fs::path dir = fs::path(o.out).has_parent_path() ? fs::path(o.out).parent_path() : fs::path(".");
  if (access(dir.c_str(), W_OK) != 0)
    throw Error("cannot write '" + o.out + "': '" + dir.string() + "' is not a writable directory");

  // Never repacked (and no --repack flag): the collector knows each weight by its data pointer into
  // the file, which must stay the pointer the matmuls report, and a prefill-only run gains nothing.
  LoadOptions load;
  load.repack = false;
  const auto model = Model::load(o.model, load);
  const auto tok = Tokenizer::from_gguf(model->gguf());
  const std::vector<int32_t> tokens = tok->encode(read_text_file(o.text_file), /*add_special=*/true);
  if (tokens.size() < size_t(o.ppl.n_ctx))
    throw Error("'" + o.text_file + "' has " + std::to_string(tokens.size()) + " tokens; one chunk of -c " +
                std::to_string(o.ppl.n_ctx) + " needs " + std::to_string(o.ppl.n_ctx) +
                " (give a longer text or a smaller -c)");
  // As kq ppl and llama-imatrix: every chunk's first token is evaluated as BOS.
  o.ppl.bos_id = tok->add_bos() ? tok->bos() : -1;
  ImatrixCollector collector(*model, o.process_output);
  o.ppl.observer = &collector;
  const PerplexityResult r = perplexity(*model, tokens, o.ppl, "", progress_printer(start));

  ImatrixSums sums = collector.sums();
  if (sums.entries.empty()) throw Error("'" + o.model + "': no matmul weight was seen, nothing to write");
  sums.datasets = {o.text_file};
  sums.chunk_count = r.n_chunks;
  sums.chunk_size = r.n_ctx;
  write_imatrix_gguf(sums, o.out);
  std::printf("Final estimate: PPL = %.4f +/- %.5f\n", r.ppl, r.ppl_err);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "kq imatrix: wrote %zu entries (%d chunks of %d tokens) to %s, %.2f s\n", sums.entries.size(),
               r.n_chunks, r.n_ctx, o.out.c_str(), secs);
  return 0;
}

}  // namespace

int cmd_imatrix(const std::vector<std::string>& args) {
  return run_command("imatrix", kImatrixUsage, args, [&] { return imatrix(parse_imatrix_args(args)); });
}

}  // namespace kq::app

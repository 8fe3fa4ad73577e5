// The token generation loop shared by `kq run` and `kq chat`, and the flags they have in common.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "apps/kq/args.h"
#include "apps/kq/utf8.h"
#include "runtime/sampler.h"
#include "runtime/session.h"

namespace kq {
class Model;
class Tokenizer;
}

namespace kq::app {

struct GenerateOptions {
  int n_predict = 128;                      // -1: until end of generation or a full context
  int top_logits = 0;                       // > 0: record this many (id, logit) pairs per step
  const std::atomic<bool>* stop = nullptr;  // set from a signal handler to end the reply early
};

struct GenerateResult {
  std::vector<int32_t> tokens;               // generated ids (an end-of-generation token is not included)
  std::string text;                          // their text, control tokens left out
  std::string finish_reason;                 // "length", "eog", "context" or "interrupted"
  double ms = 0;                             // wall time of the loop
  std::vector<std::vector<TokenLogit>> top;  // [steps][top_logits], highest first
};

// Generates after a prompt the session has already evaluated (its last logits are the next
// token's), calling on_text with each complete piece of UTF-8 text as soon as it is known.
GenerateResult generate(Session& session, const Tokenizer& tok, Sampler& sampler, const GenerateOptions& options,
                        const std::function<void(std::string_view)>& on_text = {});

// Returns the k highest logits of a row, highest first (ties: lowest id first).
std::vector<TokenLogit> top_logits(const float* logits, int n_vocab, int k);

// Consumes args[i] (and its value) when it is a sampling flag (--temp, --top-k, ...); returns
// whether it was one. Throws UsageError for a missing or malformed value.
bool parse_sampling_flag(const std::vector<std::string>& args, size_t& i, SamplerParams& p);
// Same for -c/--ctx-size, -b/--batch-size, -t/--threads and --cache-type.
bool parse_session_flag(const std::vector<std::string>& args, size_t& i, SessionOptions& o);

// Sets o.n_ctx to the largest context (at most the model's trained one) whose memory plan fits the
// system's budget (runtime/memory_budget) and, unless quiet, prints the choice on stderr as
// "kq COMMAND: --fit: ...". Throws kq::Error when not even a one-token context fits.
void fit_context(const Model& model, SessionOptions& o, const char* command, bool quiet);

// Prints one warning line on stderr, "kq COMMAND: warning: ...", when n_ctx is larger than the
// context the model was trained with (its llama.context_length, when the file gives one): the run
// goes on, as llama.cpp's does, but positions past the trained context are out of distribution.
void warn_if_beyond_trained_context(const Model& model, int n_ctx, const char* command);

// Usage text of the flags above, for the commands' --help.
extern const char* const kSamplingUsage;
extern const char* const kSessionUsage;

std::string read_text_file(const std::string& path);
std::string read_stdin();

}  // namespace kq::app

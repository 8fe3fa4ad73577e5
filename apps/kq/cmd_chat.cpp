// `kq chat`: an interactive conversation with a model, its KV cache kept across turns.
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/kq/commands.h"
#include "apps/kq/default_model.h"
#include "apps/kq/generate.h"
#include "common/error.h"
#include "runtime/chat_template.h"
#include "runtime/model.h"
#include "runtime/tokenizer.h"

namespace kq::app {

namespace {

constexpr const char* kChatUsage =
    "usage: kq chat [-m MODEL] [options]\n"
    "  -m, --model MODEL       GGUF model (default: SmolLM2-135M-Instruct from `scripts/setup --model`)\n"
    "  --system TEXT           system message (default: the chat template's own, if any)\n"
    "  -n, --n-predict N       longest reply in tokens (default -1: until the model ends its turn)\n"
    "  --repack, --no-repack   interleave Q8_0 weights at load for the AVX-512 VNNI repacked kernel, or\n"
    "                          keep the file's layout (the default: repacking measured no faster yet)\n"
    "  --quiet                 no start-up line on stderr\n"
    "In the chat: /exit or Ctrl-D quits, /clear starts a new conversation, Ctrl-C stops a reply\n"
    "(at the prompt it quits).\n";

// Set by SIGINT; read by the generation loop (to stop a reply) and the line reader.
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the SIGINT handler needs a lock-free flag");

extern "C" void on_sigint(int) {
  g_interrupted.store(true);
}

struct ChatOptions {
  LoadOptions load;  // --repack / --no-repack
  std::string model;
  std::string system;
  bool has_system = false;
  int n_predict = -1;
  bool quiet = false;
  bool fit = false;  // --fit: choose the context from the memory budget
  SessionOptions session;
  SamplerParams sampling;
};

ChatOptions parse_chat_args(const std::vector<std::string>& args) {
  ChatOptions o;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (parse_sampling_flag(args, i, o.sampling) || parse_session_flag(args, i, o.session)) continue;
    if (a == "-m" || a == "--model") {
      o.model = flag_value(args, i);
    } else if (a == "--system") {
      o.system = flag_value(args, i);
      o.has_system = true;
    } else if (a == "-n" || a == "--n-predict") {
      o.n_predict = parse_int(a, flag_value(args, i));
      if (o.n_predict < -1) throw UsageError("option " + a + " needs a count >= -1");
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
  if (o.fit && o.session.n_ctx > 0) throw UsageError("give -c N or --fit, not both");
  if (o.model.empty()) {
    o.model = default_model_path();
    if (!std::filesystem::exists(o.model))
      throw Error("no -m MODEL given and the default model is missing at " + o.model +
                  ": run `scripts/setup --model` to fetch it");
  }
  return o;
}

enum class LineStatus { kLine, kEof, kInterrupted };

// Reads one line from fd 0 with poll(2) and read(2) rather than stdio, so that a Ctrl-C is seen at
// once: the flag is checked between short polls, which also covers a SIGINT that lands just before
// the process blocks (EINTR alone would miss that one).
class LineReader {
 public:
  LineStatus read_line(std::string& line) {
    line.clear();
    for (;;) {
      if (pos_ == len_) {
        if (!wait_readable()) return LineStatus::kInterrupted;
        const ssize_t n = ::read(STDIN_FILENO, buf_, sizeof buf_);
        if (n < 0 && errno == EINTR) return LineStatus::kInterrupted;
        if (n <= 0) return line.empty() ? LineStatus::kEof : LineStatus::kLine;
        pos_ = 0, len_ = size_t(n);
      }
      const char c = buf_[pos_++];
      if (c == '\n') return LineStatus::kLine;
      line += c;
    }
  }

 private:
  // Returns false when interrupted before stdin has input (or end of file) to read.
  static bool wait_readable() {
    for (;;) {
      if (g_interrupted.load()) return false;
      pollfd p{STDIN_FILENO, POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) return true;
    }
  }

  char buf_[4096];
  size_t pos_ = 0, len_ = 0;
};

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

// Holds the conversation and keeps the session's cache equal to a prefix of its rendering.
class Chat {
 public:
  Chat(const ChatOptions& o, const Model& model, const Tokenizer& tok, ChatTemplate tmpl)
      : opt_(o), tok_(tok), tmpl_(std::move(tmpl)), session_(model, o.session), sampler_(o.sampling) {
    clear();
  }

  int n_ctx() const { return session_.n_ctx(); }

  void clear() {
    messages_.clear();
    if (opt_.has_system) messages_.push_back({"system", opt_.system});
  }

  // Answers one user message, streaming the reply to stdout.
  void reply(const std::string& user) {
    messages_.push_back({"user", user});
    const std::vector<int32_t> tokens = tmpl_.encode(tok_, messages_, /*add_generation_prompt=*/true);
    if (int(tokens.size()) >= session_.n_ctx()) {
      messages_.pop_back();
      std::fprintf(stderr,
                   "kq chat: context full: the conversation is %zu tokens and the context holds %d; "
                   "/clear starts a new one (or restart with a larger -c)\n",
                   tokens.size(), session_.n_ctx());
      return;
    }
    // Only what differs from the cache is evaluated; at least one token, for fresh logits.
    size_t keep = common_prefix(cached_, tokens);
    if (keep == tokens.size()) --keep;
    session_.truncate(int(keep));
    session_.eval(std::vector<int32_t>(tokens.begin() + long(keep), tokens.end()));
    cached_ = tokens;

    sampler_.reset_history();
    for (const int32_t id : tokens) sampler_.accept(id);
    GenerateOptions g;
    g.n_predict = opt_.n_predict;
    g.stop = &g_interrupted;
    const GenerateResult r = generate(session_, tok_, sampler_, g, [](std::string_view s) {
      std::fwrite(s.data(), 1, s.size(), stdout);
      std::fflush(stdout);
    });
    std::fputc('\n', stdout);
    std::fflush(stdout);
    // Every generated token but a final one that stopped the loop went through the model.
    cached_.insert(cached_.end(), r.tokens.begin(), r.tokens.end());
    cached_.resize(size_t(session_.n_past()));
    if (r.finish_reason == "interrupted") std::fprintf(stderr, "kq chat: reply stopped\n");
    if (r.finish_reason == "context")
      std::fprintf(stderr, "kq chat: context full (%d tokens): the reply was cut; /clear starts a new conversation\n",
                   session_.n_ctx());
    messages_.push_back({"assistant", r.text});
  }

 private:
  const ChatOptions& opt_;
  const Tokenizer& tok_;
  ChatTemplate tmpl_;
  Session session_;
  Sampler sampler_;
  std::vector<ChatMessage> messages_;
  std::vector<int32_t> cached_;  // the tokens in session_'s KV cache, in order
};

int chat(const ChatOptions& options) {
  const auto model = Model::load(options.model, options.load);
  ChatOptions o = options;
  if (o.fit) fit_context(*model, o.session, "chat", o.quiet);
  warn_if_beyond_trained_context(*model, o.session.n_ctx, "chat");
  const auto tok = Tokenizer::from_gguf(model->gguf());
  std::string warning;
  ChatTemplate tmpl = ChatTemplate::for_model(model->gguf(), *tok, &warning);
  if (!warning.empty()) std::fprintf(stderr, "kq chat: warning: %s\n", warning.c_str());
  const ChatFormat format = tmpl.format();
  Chat chat(o, *model, *tok, std::move(tmpl));

  const bool tty = isatty(STDIN_FILENO) != 0;
  if (!o.quiet)
    std::fprintf(stderr, "kq chat: %s (%s template, context %d)%s\n", o.model.c_str(), chat_format_name(format),
                 chat.n_ctx(), tty ? "; /exit or Ctrl-D quits, Ctrl-C stops a reply" : "");

  // No SA_RESTART: a Ctrl-C at the prompt must interrupt the blocking read.
  struct sigaction sa = {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);

  LineReader reader;
  std::string line;
  for (;;) {
    g_interrupted.store(false);  // before the prompt shows, so a Ctrl-C typed at it is never lost
    if (tty) {
      std::fputs("> ", stdout);
      std::fflush(stdout);
    }
    const LineStatus status = reader.read_line(line);
    if (status != LineStatus::kLine) {
      if (tty) std::fputc('\n', stdout);
      break;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "/exit" || line == "/quit") break;
    if (line == "/clear") {
      chat.clear();
      std::fprintf(stderr, "kq chat: new conversation\n");
      continue;
    }
    if (line.empty()) continue;
    chat.reply(line);
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace

int cmd_chat(const std::vector<std::string>& args) {
  static const std::string usage_text = std::string(kChatUsage) + kSessionUsage + kSamplingUsage;
  const char* usage = usage_text.c_str();
  return run_command("chat", usage, args, [&] { return chat(parse_chat_args(args)); });
}

}  // namespace kq::app

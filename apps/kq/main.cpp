// kq: dispatches `kq COMMAND ...` to one subcommand through a table.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "apps/kq/commands.h"
#include "runtime/openmp_wait.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);
};

// One row per subcommand; a new command is one row here plus its cmd_<name>.cpp.
const Command kCommands[] = {
    {"chat", "chat with a model in the terminal (default: SmolLM2-135M-Instruct)", kq::app::cmd_chat},
    {"run", "generate text from a prompt (-p, -f or stdin), text or --json out", kq::app::cmd_run},
    {"tokenize", "print the token ids a model's tokenizer gives a text", kq::app::cmd_tokenize},
    {"ppl", "perplexity and KL divergence over a text file", kq::app::cmd_ppl},
    {"quantize", "convert a GGUF model's weights to another block type", kq::app::cmd_quantize},
    {"imatrix", "importance matrix of a model over calibration text, for quantize --imatrix", kq::app::cmd_imatrix},
    {"info", "show a GGUF model's architecture, tokenizer, tensor types and sizes", kq::app::cmd_info},
    {"bench", "prompt and decode speed of a model or a synthetic one (llama-bench style)", kq::app::cmd_bench},
    {"fit", "will a model fit in memory: the plan, the largest context, the decode speed", kq::app::cmd_fit},
};

void print_usage(std::FILE* out) {
  std::fputs("usage: kq COMMAND [options]   (kq COMMAND --help for a command's options)\n\ncommands:\n", out);
  for (const Command& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
  std::fputs("\n  --help     this text\n  --version  print the version\n", out);
  std::fputs("\nenvironment:\n"
             "  KQ_ISA=scalar|avx2|avx512|neon  force a kernel level (default: the best the CPU has)\n"
             "  OMP_WAIT_POLICY, GOMP_SPINCOUNT  how idle threads wait (default: kq sets GOMP_SPINCOUNT=",
             out);
  std::fputs(kq::kOpenmpSpinCount, out);
  std::fputs(",\n                                   a short spin, then sleep)\n", out);
}

// Splits `--name=value` into `--name value` so every command accepts both spellings.
std::vector<std::string> normalize_args(int argc, char** argv) {
  std::vector<std::string> args;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const size_t eq = a.find('=');
    if (a == "--") options_done = true;
    if (!options_done && a.rfind("--", 0) == 0 && eq != std::string::npos && eq > 2) {
      args.push_back(a.substr(0, eq));
      args.push_back(a.substr(eq + 1));
    } else {
      args.push_back(a);
    }
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  // libgomp reads its wait policy once, in its constructor before main() (and glibc's own start-up
  // resets the environment after an executable's .preinit_array), so when kq sets its default
  // spin it starts itself again; the new process finds GOMP_SPINCOUNT set and runs on. If the
  // exec fails, kq runs with libgomp's default. The link is read rather than exec'd so that an
  // emulator (qemu-user) that answers readlink for its guest is not exec'd itself.
  if (kq::set_default_openmp_wait()) {
    char self[4096];
    const ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len > 0) {
      self[len] = '\0';
      execv(self, argv);
    }
  }
  if (argc < 2) {
    std::fputs("kq: missing command\n", stderr);
    print_usage(stderr);
    return 2;
  }
  const std::string_view first = argv[1];
  if (first == "-h" || first == "--help" || first == "help") {
    print_usage(stdout);
    return 0;
  }
  if (first == "--version" || first == "-V" || first == "version") {
    std::puts("kq " KQ_VERSION);
    return 0;
  }
  for (const Command& c : kCommands) {
    if (first == c.name) return c.run(normalize_args(argc, argv));
  }
  std::fprintf(stderr, "kq: unknown command '%s'\n", argv[1]);
  print_usage(stderr);
  return 2;
}

// `kq tokenize`: prints the token ids (or ids and pieces) a model's tokenizer gives a text.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "apps/kq/args.h"
#include "apps/kq/commands.h"
#include "common/error.h"
#include "formats/gguf.h"
#include "runtime/tokenizer.h"

namespace kq::app {

namespace {

constexpr const char* kTokenizeUsage =
    "usage: kq tokenize -m MODEL (-p TEXT | -f FILE) [--no-bos] [--pieces]\n"
    "  -m, --model MODEL   GGUF file whose tokenizer to use\n"
    "  -p, --prompt TEXT   text to tokenize (taken literally)\n"
    "  -f, --file FILE     read the text from FILE (all bytes, final newline included)\n"
    "  --no-bos            add no BOS/EOS even where the model asks for them\n"
    "  --pieces            print `id 'piece'` per line (\\n, \\t, \\r, \\\\, \\' and other control\n"
    "                      bytes escaped) instead of the ids on one line\n";

struct TokenizeOptions {
  std::string model;
  std::string text;
  bool add_special = true;
  bool pieces = false;
};

std::string read_whole_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error("cannot open '" + path + "'");
  std::string text;
  char buf[1 << 16];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) throw Error("cannot read '" + path + "'");
  return text;
}

// Makes a piece printable on one line; bytes >= 0x80 pass through so UTF-8 stays readable.
std::string escape_piece(std::string_view piece) {
  std::string out;
  for (const char ch : piece) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\\')
      out += "\\\\";
    else if (c == '\'')
      out += "\\'";
    else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

// Parses the command's arguments (args[0] is "tokenize"); throws UsageError on misuse.
TokenizeOptions parse_tokenize_args(const std::vector<std::string>& args) {
  TokenizeOptions opt;
  bool have_text = false;
  const auto set_text = [&](std::string text) {
    if (have_text) throw UsageError("give the text once: -p TEXT or -f FILE");
    opt.text = std::move(text);
    have_text = true;
  };
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-m" || a == "--model") {
      opt.model = flag_value(args, i);
    } else if (a == "-p" || a == "--prompt") {
      set_text(flag_value(args, i));
    } else if (a == "-f" || a == "--file") {
      set_text(read_whole_file(flag_value(args, i)));
    } else if (a == "--no-bos") {
      opt.add_special = false;
    } else if (a == "--pieces") {
      opt.pieces = true;
    } else {
      throw UsageError("unknown option '" + a + "'");
    }
  }
  if (opt.model.empty()) throw UsageError("missing -m MODEL");
  if (!have_text) throw UsageError("missing -p TEXT or -f FILE");
  return opt;
}

int tokenize(const TokenizeOptions& opt) {
  const GgufFile file = GgufFile::open(opt.model);
  const auto tok = Tokenizer::from_gguf(file);
  const std::vector<int32_t> ids = tok->encode(opt.text, opt.add_special, /*parse_special=*/true);
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (opt.pieces) {
      out += std::to_string(ids[i]) + " '" + escape_piece(tok->token_to_piece(ids[i])) + "'\n";
    } else {
      if (i) out += ' ';
      out += std::to_string(ids[i]);
    }
  }
  if (!opt.pieces) out += '\n';
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

int cmd_tokenize(const std::vector<std::string>& args) {
  return run_command("tokenize", kTokenizeUsage, args, [&] { return tokenize(parse_tokenize_args(args)); });
}

}  // namespace kq::app

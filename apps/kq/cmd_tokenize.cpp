// `kq tokenize`: prints the token ids (or ids and pieces) a model's tokenizer gives a text.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

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

// Parses the command's own arguments (argv[0] is "tokenize"); throws kq::Error on misuse.
TokenizeOptions parse_tokenize_args(const std::vector<std::string>& args) {
  TokenizeOptions opt;
  bool have_text = false;
  const auto value = [&](size_t& i) -> const std::string& {
    if (i + 1 >= args.size()) throw Error("option " + args[i] + " needs a value");
    return args[++i];
  };
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-m" || a == "--model") {
      opt.model = value(i);
    } else if (a == "-p" || a == "--prompt") {
      if (have_text) throw Error("give the text once: -p TEXT or -f FILE");
      opt.text = value(i);
      have_text = true;
    } else if (a == "-f" || a == "--file") {
      if (have_text) throw Error("give the text once: -p TEXT or -f FILE");
      opt.text = read_whole_file(value(i));
      have_text = true;
    } else if (a == "--no-bos") {
      opt.add_special = false;
    } else if (a == "--pieces") {
      opt.pieces = true;
    } else {
      throw Error("unknown option '" + a + "'");
    }
  }
  if (opt.model.empty()) throw Error("missing -m MODEL");
  if (!have_text) throw Error("missing -p TEXT or -f FILE");
  return opt;
}

}  // namespace

int cmd_tokenize(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "-h" || a == "--help") {
      std::fputs(kTokenizeUsage, stdout);
      return 0;
    }
  }
  try {
    const TokenizeOptions opt = parse_tokenize_args(args);
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
  } catch (const Error& e) {
    std::fprintf(stderr, "kq tokenize: %s\n%s", e.what(), kTokenizeUsage);
    return 1;
  }
}

}  // namespace kq::app

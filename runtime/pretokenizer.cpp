// Byte-level BPE pre-tokenizers: the regex split rules llama.cpp applies per `tokenizer.ggml.pre`.
//
// The patterns are data from each model's tokenizer.json (as adapted by llama.cpp), with non-ASCII
// characters written as \x{...} so that no editor's Unicode normalization can change a range
// (NFC maps U+1F7D, U+212A and others to different code points). Matching is PCRE2 in UTF + UCP
// mode. llama.cpp runs the GPT-2 and Llama-3 patterns as hand-written scanners and the others
// with std::regex over a text whose non-ASCII characters are collapsed to one byte per category;
// both use true Unicode categories, but `\s` there is the Unicode White_Space set. So the subject
// carries every non-ASCII White_Space character as U+000B and `\s`/`\S` become ASCII classes,
// and PCRE2's wider idea of space (it adds U+180E) plays no part.
#include "runtime/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <utility>

#include "common/error.h"
#include "runtime/unicode.h"

namespace kq {

namespace {

constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
constexpr const char* kLlama3Pattern =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|)"
    R"( ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2Pattern =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|)"
    R"( ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kTekkenPattern = R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|)"
                                       R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|)"
                                       R"(\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kGpt4oPattern = R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+)"
                                      R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|)"
                                      R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*)"
                                      R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|)"
                                      R"(\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kPoroPattern = R"( ?[^(\s|.,!?\x{2026}\x{3002}\x{FF0C}\x{3001}\x{964}\x{6D4}\x{60C})]+)";
constexpr const char* kCjkPattern = R"([\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}]+)";

struct Spec {
  std::vector<std::string> names;  // the first is canonical, the rest are aliases
  std::vector<std::string> patterns;
  bool ignore_merges = false;
  bool add_bos = false;
};

const std::vector<Spec>& specs() {
  static const std::vector<Spec> table = {
      {{"default"}, {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2Pattern, R"(\p{N}+)", R"([0-9][0-9][0-9])"}},
      {{"llama-bpe", "llama3", "llama-v3", "falcon3"}, {kLlama3Pattern}, true, true},
      {{"dbrx", "smaug-bpe"}, {kLlama3Pattern}},
      {{"chatglm-bpe"}, {kLlama3Pattern}},
      {{"deepseek-llm"},
       {R"([\r\n])",
        R"(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293})"
        R"(\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A})"
        R"(\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556})"
        R"(\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF})"
        R"(\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D})"
        R"(\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D})"
        R"(\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4})"
        R"(\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4})"
        R"(\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124})"
        R"(\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F})"
        R"(\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4})"
        R"(\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F})"
        R"(\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17})"
        R"(\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3})"
        R"(\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF})"
        R"(\x{1E900}-\x{1E943}]+)",
        R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)", R"(\s+$)", kCjkPattern,
        R"(\p{N}+)"}},
      {{"deepseek-coder"}, {R"([\r\n])", R"(\s?\p{L}+)", R"(\s?\p{P}+)", kCjkPattern, R"(\p{N})"}},
      {{"falcon"}, {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2Pattern, R"([0-9][0-9][0-9])"}},
      {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"}, {R"(\p{N})", kGpt2Pattern}},
      {{"gpt-2", "mpt", "olmo", "jais", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v1-en", "jina-v2-es",
        "jina-v2-de", "jina-v2-code", "roberta-bpe"},
       {kGpt2Pattern}},
      {{"qwen2", "stablelm2", "deepseek-r1-qwen", "megrez"}, {kQwen2Pattern}},
      {{"poro-chat", "bloom", "gpt3-finnish"}, {kPoroPattern}},
      {{"viking"}, {kPoroPattern, R"(\p{N})"}},
      {{"tekken"}, {kTekkenPattern}, true, true},
      {{"gpt-4o"}, {kGpt4oPattern}},
  };
  return table;
}

constexpr const char* kSpaceClassBody = R"(\t-\r\x20)";

// Rewrites a tokenizer.json pattern into the PCRE2 pattern that matches like llama.cpp
// (only `\s` and `\S` change).
std::string adapt_pattern(const std::string& pattern) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[i + 1];
      if (e == 's') {
        out += in_class ? kSpaceClassBody : std::string("[") + kSpaceClassBody + "]";
      } else if (e == 'S') {
        if (in_class) throw Error("pre-tokenizer pattern uses \\S inside a class: " + pattern);
        out += std::string("[^") + kSpaceClassBody + "]";
      } else {
        out += c;
        out += e;
      }
      ++i;
      continue;
    }
    if (c == '[' && !in_class)
      in_class = true;
    else if (c == ']' && in_class)
      in_class = false;
    out += c;
  }
  return out;
}

}  // namespace

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  ~Regex() { pcre2_code_free(code); }
};

PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;
PreTokenizer::~PreTokenizer() = default;

PreTokenizer PreTokenizer::from_patterns(std::string name, const std::vector<std::string>& patterns) {
  PreTokenizer pt;
  pt.name_ = std::move(name);
  for (const std::string& pattern : patterns) {
    const std::string adapted = adapt_pattern(pattern);
    int err = 0;
    PCRE2_SIZE err_offset = 0;
    // DOLLAR_ENDONLY: `$` must mean the end of the piece, not also "before a final newline".
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(adapted.data()), adapted.size(),
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err, &err_offset, nullptr);
    if (!code) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      throw Error("pre-tokenizer '" + pt.name_ + "': bad pattern at offset " + std::to_string(err_offset) + ": " +
                  reinterpret_cast<const char*>(msg));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // optional speed-up; the interpreter is the fallback
    auto regex = std::make_unique<Regex>();
    regex->code = code;
    pt.regexes_.push_back(std::move(regex));
  }
  return pt;
}

PreTokenizer PreTokenizer::create(std::string_view name) {
  for (const Spec& spec : specs()) {
    for (const std::string& n : spec.names) {
      if (n != name) continue;
      PreTokenizer pt = from_patterns(std::string(name), spec.patterns);
      pt.ignore_merges_ = spec.ignore_merges;
      pt.default_add_bos_ = spec.add_bos;
      return pt;
    }
  }
  throw Error("unsupported pre-tokenizer '" + std::string(name) + "' (tokenizer.ggml.pre)");
}

std::vector<std::string> PreTokenizer::known_names() {
  std::vector<std::string> names;
  for (const Spec& spec : specs()) names.insert(names.end(), spec.names.begin(), spec.names.end());
  return names;
}

std::vector<std::string> PreTokenizer::split(std::string_view text) const {
  const std::vector<uint32_t> cps = unicode::to_codepoints(text);
  const size_t n = cps.size();

  // The subject the regexes see: one character per code point of `cps` (see the file comment).
  std::string subject;
  subject.reserve(text.size());
  std::vector<size_t> byte_of_cp(n + 1);
  for (size_t i = 0; i < n; ++i) {
    byte_of_cp[i] = subject.size();
    uint32_t cp = cps[i];
    if (cp >= 0x80 && unicode::is_white_space(cp))
      cp = 0x0B;
    else if (cp >= 0xD800 && cp <= 0xDFFF)
      cp = 0xE000;  // keep the subject valid UTF-8; both are "other"
    unicode::append_utf8(subject, cp);
  }
  byte_of_cp[n] = subject.size();
  std::vector<uint32_t> cp_of_byte(subject.size() + 1, 0);
  for (size_t i = 0; i <= n; ++i) cp_of_byte[byte_of_cp[i]] = static_cast<uint32_t>(i);

  // Pieces as [begin, end) code point ranges.
  std::vector<std::pair<size_t, size_t>> pieces;
  if (n > 0) pieces.emplace_back(0, n);
  for (const auto& regex : regexes_) {
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(regex->code, nullptr);
    if (!md) throw Error("pre-tokenizer: out of memory");
    std::vector<std::pair<size_t, size_t>> next;
    next.reserve(pieces.size() * 2);
    for (const auto& [b, e] : pieces) {
      const size_t base = byte_of_cp[b];
      const size_t len = byte_of_cp[e] - base;
      const auto* ptr = reinterpret_cast<PCRE2_SPTR>(subject.data() + base);
      size_t start = 0, kept = 0;  // byte offsets within the piece
      while (start < len) {
        const int rc = pcre2_match(regex->code, ptr, len, start, PCRE2_NO_UTF_CHECK, md, nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
          pcre2_match_data_free(md);
          throw Error("pre-tokenizer '" + name_ + "': match failed (PCRE2 error " + std::to_string(rc) + ")");
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        if (ov[1] == ov[0]) {  // an empty match splits nothing; step over one character
          start = ov[0] + unicode::utf8_sequence_length(static_cast<uint8_t>(subject[base + ov[0]]));
          continue;
        }
        if (ov[0] > kept) next.emplace_back(cp_of_byte[base + kept], cp_of_byte[base + ov[0]]);
        next.emplace_back(cp_of_byte[base + ov[0]], cp_of_byte[base + ov[1]]);
        kept = start = ov[1];
      }
      if (kept < len) next.emplace_back(cp_of_byte[base + kept], e);
    }
    pcre2_match_data_free(md);
    pieces = std::move(next);
  }

  std::vector<std::string> words;
  words.reserve(pieces.size());
  for (const auto& [b, e] : pieces) {
    std::string w;
    for (size_t i = b; i < e; ++i) unicode::append_utf8(w, cps[i]);
    words.push_back(std::move(w));
  }
  return words;
}

}  // namespace kq

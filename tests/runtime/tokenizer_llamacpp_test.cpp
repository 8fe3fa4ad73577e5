// Pins kq's tokenizers to ids that llama.cpp itself produced for tricky texts: the default
// model in full, and a digest per pre-tokenizer (the GPT-2 vocabulary relabelled with each name).
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "runtime/tokenizer.h"
#include "tests/runtime/tokenizer_test_util.h"

namespace {

// Contractions, digit runs, whitespace runs, CJK, emoji ZWJ sequences, combining marks, non-ASCII
// spaces (U+00A0, U+3000) and non-spaces (U+180E, U+200B, U+FEFF), scripts, CR/LF, malformed
// UTF-8, ASCII punctuation runs, chat control tokens. Non-ASCII is escaped so no editor can
// normalize it.
const std::vector<std::string>& tricky_texts() {
  static const std::vector<std::string> texts = {
      "Hello world! I'm here, you're there; they'll've gone.",
      "   leading   and trailing   \n\n\n  \t\t  x",
      "numbers 1 12 123 1234 12345 3.14159 1,000,000 \u0663\u0664\u0665 \u00bd",
      ("CJK \u6211\u60f3\u5728apple\u5de5\u4f5c1314151\u5929\uff5e \ud55c\uad6d\uc5b4 "
       "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3001\u3067\u3059\u3002"),
      ("emoji \U0001f680\U0001f636\u200d\U0001f32b\ufe0f \U0001f44d\U0001f3fd \U0001f1eb\U0001f1f7 \u2705 and ~tildes~ "
       "`code` $x+y=z$ ^_^ a|b <tag>"),
      "combining e\u0301 a\u030a; nbsp\u00a0ideographic\u3000space mongolian\u180evs zwsp\u200b bom\ufeff",
      "'S 'T 'RE 'VE 'M 'LL 'D 's 't 're 've 'm 'll 'd don't",
      ("\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u0440\u0443\u0441\u0441\u043a\u0438\u0439 "
       "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u05e2\u05d1\u05e8\u05d9\u05ea \u0939\u093f\u0928\u094d\u0926\u0940 "
       "\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22 \u1797\u17b6\u179f\u17b6\u1781\u17d2\u1798\u17c2\u179a"),
      "line1\r\nline2\rline3\n\n  indented\n\t\ttabbed\n",
      ("a\xff\xe2\x82"
       "b \xc3(\x80)"),
      "!!!???...,,,;;;:::---___===+++***&&&%%%$$$###@@@",
      "<|endoftext|>special<|im_start|>user<|im_end|>",
  };
  return texts;
}

// FNV-1a over every id (as uint32) of every text, each text closed by 0xFFFFFFFF.
uint64_t digest(const kq::Tokenizer& tok) {
  uint64_t h = 0xcbf29ce484222325ull;
  const auto mix = [&](uint32_t x) { h = (h ^ x) * 0x100000001b3ull; };
  for (const std::string& text : tricky_texts()) {
    for (const int32_t id : tok.encode(text, false, true)) mix(static_cast<uint32_t>(id));
    mix(0xFFFFFFFFu);
  }
  return h;
}

}  // namespace

TEST_CASE("tokenizer: SmolLM2 ids equal llama.cpp's on tricky texts", "[tokenizer]") {
  const auto tok = kq::test::load_tokenizer(kq::test::default_model_path());
  const std::vector<std::vector<int32_t>> expected = {
      {19556, 905, 17, 339, 5248, 1535, 28, 346, 2316, 665, 43, 502, 3060, 3543, 7270, 30},
      {256, 2899, 256, 284, 35079, 333, 1116, 11181, 1656, 216, 1792},
      {28707, 216, 33, 216, 33, 34,  216, 33,  34,  35,  216, 33,  34,  35,  36,  216,
       33,    34,  35, 36,  37, 216, 35,  30,  33,  36,  33,  37,  41,  216, 33,  28,
       32,    32,  32, 28,  32, 32,  32,  216, 164, 113, 164, 114, 164, 115, 216, 16738},
      {51,    58,    59,  17097, 226, 235,   177, 221,   128, 32632, 21949, 36149, 115,   40994,
       33,    35,    33,  36,    33,  37,    33,  18614, 119, 186,   138,   248,   216,   33085,
       246,   181,   130, 251,   183, 240,   129, 17097, 241, 115,   40993, 179,   120,   248,
       26453, 11100, 224, 10391, 251, 10391, 134, 11100, 226, 29917, 7365,  117,   39958, 19076},
      {391,  33777, 15107, 244, 218, 10813, 242, 131, 321,  231,   10813, 230, 121,   31752, 15107, 235,  231,  10813,
       233,  138,   15107, 225, 121, 10813, 225, 132, 4636, 246,   223,   284, 11417, 100,   558,   266,  110,  2179,
       4635, 80,    1885,  104, 27,  105,   45,  106, 20,   13481, 79,    78,  253,   108,   82,    2067, 9204, 46},
      {14558, 1294, 297,   151, 219, 253, 151,   228,  43,  304,  32093, 15442, 489,   4551, 12109, 218, 11602,
       283,   516,  44536, 172, 250, 232, 20782, 1892, 103, 2401, 321,   229,   13862, 186,  136,   140},
      {23, 67,  637, 68,  637, 3256, 637, 18525, 637, 61,  637, 16421, 637, 52,   637,
       99, 637, 100, 637, 257, 637,  307, 637,   93,  637, 764, 637,   84,  1326, 982},
      {153,   239,   17162, 17162, 25723, 11517, 12001, 21118, 26112, 216,   9175,  14714, 9382,  39511,
       7872,  24958, 27819, 34966, 20602, 31462, 23339, 43463, 12960, 112,   37657, 30825, 28532, 120,
       12335, 134,   27011, 30658, 16525, 44757, 37189, 216,   10283, 250,   43662, 10283, 119,   43662,
       31933, 222,   10283, 241,   10283, 112,   15822, 248,   241,   40478, 131,   40478, 249,   40478,
       131,   40478, 219,   172,   249,   236,   40478, 242,   172,   249,   220,   40478, 244},
      {1311, 33, 201, 198, 1311, 34, 201, 1311, 35, 8866, 641, 6574, 3354, 197, 15999, 5776, 198},
      {81, 24211, 24211, 24211, 82, 216, 24211, 24, 24211, 25},
      {29646, 16693, 47,    27040, 12002, 43, 43,    43, 9533, 42, 5583, 19129, 28733,
       11444, 27,    24299, 22,    22,    22, 22403, 21, 9212, 20, 3757, 41407, 48},
      {0, 19159, 1, 4093, 2},
  };
  REQUIRE(expected.size() == tricky_texts().size());
  for (size_t i = 0; i < tricky_texts().size(); ++i) {
    INFO("text " << i);
    CHECK(tok->encode(tricky_texts()[i], false, true) == expected[i]);
  }
}

TEST_CASE("tokenizer: every pre-tokenizer matches llama.cpp on tricky texts", "[tokenizer]") {
  const std::vector<std::pair<std::string, uint64_t>> expected = {
      {"chatglm-bpe", 0x7d21019b2b1effa9ull},  {"command-r", 0x1bed1a37e60e7913ull},
      {"dbrx", 0x7d21019b2b1effa9ull},         {"deepseek-coder", 0x32548aaedc92aa96ull},
      {"deepseek-llm", 0x44f9295933168150ull}, {"default", 0x457df1175710f028ull},
      {"falcon", 0x5fe81f03b8deb8d7ull},       {"gpt-2", 0x56f3bd158308bfe1ull},
      {"gpt-4o", 0x7d21019b2b1effa9ull},       {"llama-bpe", 0x7d21019b2b1effa9ull},
      {"mpt", 0x56f3bd158308bfe1ull},          {"poro-chat", 0x9bf2e148720d7c4aull},
      {"qwen2", 0x1bed1a37e60e7913ull},        {"refact", 0x1bed1a37e60e7913ull},
      {"starcoder", 0x1bed1a37e60e7913ull},    {"tekken", 0x1bed1a37e60e7913ull},
      {"viking", 0x6cabe564ce9fb22cull},
  };
  const kq::GgufFile gpt2 = kq::GgufFile::open(kq::test::testdata_file("vocab/ggml-vocab-gpt-2.gguf"));
  for (const auto& [pre, want] : expected) {
    INFO("pre-tokenizer " << pre);
    kq::GgufWriter w;
    w.copy_metadata(gpt2);
    w.set("tokenizer.ggml.pre", kq::GgufValue::string(pre));
    const std::string path = kq::test::scratch_dir() + "/gpt2-" + pre + ".gguf";
    w.write(path);
    CHECK(digest(*kq::test::load_tokenizer(path).tok) == want);
  }
  CHECK(digest(*kq::test::load_testdata_tokenizer("vocab/ggml-vocab-llama-spm.gguf").tok) == 0x291481ffe9e81f88ull);
}

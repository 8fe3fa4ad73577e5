// Byte-level BPE tokenizer: SmolLM2 and GPT-2 vocabularies, special tokens, round trips, errors.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "tests/runtime/tokenizer_test_util.h"

using kq::test::load_testdata_tokenizer;
using kq::test::load_tokenizer;
using Ids = std::vector<int32_t>;

TEST_CASE("bpe: SmolLM2 (pre smollm) tokenizes like llama.cpp", "[tokenizer]") {
  const auto tok = load_tokenizer(kq::test::default_model_path());
  CHECK(tok->model_name() == "bpe");
  CHECK(tok->n_vocab() == 49152);
  CHECK_FALSE(tok->add_bos());  // tokenizer.ggml.add_bos_token = false
  CHECK(tok->bos() == 1);
  CHECK(tok->eos() == 2);
  // "The" " capital" " of" " France" " is": GPT-2 style words, each one vocabulary token.
  CHECK(tok->encode("The capital of France is", true) == Ids{504, 3575, 282, 4649, 314});
  // smollm isolates every digit before the GPT-2 split.
  const Ids digits = tok->encode("2024", false);
  REQUIRE(digits.size() == 4);
  CHECK(tok->token_text(digits[0]) == "2");
  // Chat-template control tokens are matched whole and end generation.
  const Ids chat = tok->encode("<|im_start|>user\nHi<|im_end|>\n", false);
  CHECK(chat.front() == 1);
  CHECK(std::count(chat.begin(), chat.end(), 2) == 1);
  CHECK(tok->is_eog(2));  // <|im_end|> (EOS)
  CHECK(tok->is_eog(0));  // <|endoftext|>
  CHECK_FALSE(tok->is_eog(1));
  CHECK(tok->eot() == 0);  // llama.cpp meets <|endoftext|> before <|im_end|> in its hash map
  CHECK(tok->decode(chat) == "<|im_start|>user\nHi<|im_end|>\n");
}

TEST_CASE("bpe: GPT-2 vocabulary basics", "[tokenizer]") {
  const auto tok = load_testdata_tokenizer("vocab/ggml-vocab-gpt-2.gguf");
  CHECK(tok->n_vocab() == 50257);
  CHECK(tok->bos() == 50256);
  CHECK_FALSE(tok->add_bos());
  CHECK(tok->encode("Hello world", true) == Ids{15496, 995});
  CHECK(tok->encode("   Hello", false) == Ids{220, 220, 18435});  // \s+(?!\S) leaves the last space to the word
  CHECK(tok->token_to_piece(18435) == " Hello");
  CHECK(tok->token_to_piece(198) == "\n");
  SECTION("special tokens are matched whole only with parse_special") {
    CHECK(tok->encode("a<|endoftext|>b", false) == Ids{64, 50256, 65});
    const Ids plain = tok->encode("a<|endoftext|>b", false, false);
    CHECK(plain.size() > 3);
    CHECK(tok->decode(plain) == "a<|endoftext|>b");
    CHECK(tok->is_eog(50256));
    CHECK(tok->eot() == 50256);  // found by name
  }
}

TEST_CASE("bpe: decode(encode(x)) == x", "[tokenizer]") {
  for (const std::string& path :
       {kq::test::testdata_file("vocab/ggml-vocab-gpt-2.gguf"), kq::test::default_model_path()}) {
    const auto tok = load_tokenizer(path);
    const std::vector<std::string> texts = {
        "Hello world",
        "  two leading spaces and trailing  ",
        "tabs\tand\nnewlines\n\n\r\n   \n",
        "emoji 🚀 😶‍🌫️ and flags 🇫🇷 ✅",
        "CJK 我想在apple工作1314151天～ 한국어 日本語のテキスト",
        "combining: e\xCC\x81 a\xCC\x8A n\xCC\x83 (decomposed), \xC3\xA9 (precomposed)",
        "Ελληνικά, русский, العربية, עברית, हिन्दी, ភាសាខ្មែរ",
        "I've been 'told he's there, 'RE you sure? 'M not sure I'll make it",
        "code: for (int i = 0; i < n; ++i) { x[i] *= 2; } // 3..3 3...3",
        "nbsp\u00A0and ideographic\u3000space, zero\u200Bwidth",
        "",
    };
    for (const std::string& text : texts) {
      INFO(path << " text: " << text);
      CHECK(tok->decode(tok->encode(text, false)) == text);
      CHECK(tok->decode(tok->encode(text, true)) == text);
    }
  }
}

TEST_CASE("bpe: malformed UTF-8 becomes U+FFFD as in llama.cpp", "[tokenizer]") {
  const auto tok = load_testdata_tokenizer("vocab/ggml-vocab-gpt-2.gguf");
  CHECK(tok->decode(tok->encode("a\xFF"
                                "b",
                                false)) ==
        "a\xEF\xBF\xBD"
        "b");
}

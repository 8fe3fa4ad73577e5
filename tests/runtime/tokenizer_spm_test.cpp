// SentencePiece-style tokenizer: stories260K prompt, Llama-2 vocabulary behaviour, round trips.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "tests/runtime/tokenizer_test_util.h"

using kq::test::load_testdata_tokenizer;
using Ids = std::vector<int32_t>;

TEST_CASE("spm: stories260K tokenizes the reference prompt like llama.cpp", "[tokenizer]") {
  const auto tok = load_testdata_tokenizer("stories260K.gguf");
  CHECK(tok->model_name() == "spm");
  CHECK(tok->n_vocab() == 512);
  CHECK(tok->bos() == 1);
  CHECK(tok->eos() == 2);
  CHECK(tok->add_bos());
  // refs/stories260K.refdump.txt, prompt_ids (with BOS).
  CHECK(tok->encode("Once upon a time", true) == Ids{1, 429, 491, 433, 295, 429, 444, 445, 265, 262, 263, 342, 430});
  CHECK(tok->decode(tok->encode("Once upon a time", true)) == "Once upon a time");
}

TEST_CASE("spm: Llama-2 vocabulary basics", "[tokenizer]") {
  const auto tok = load_testdata_tokenizer("vocab/ggml-vocab-llama-spm.gguf");
  CHECK(tok->n_vocab() == 32000);
  CHECK(tok->eot() == -1);
  CHECK(tok->is_eog(2));
  CHECK_FALSE(tok->is_eog(1));
  CHECK(tok->token_type(0) == static_cast<int32_t>(kq::TokenType::kUnknown));
  CHECK(tok->token_text(15043) == "\xE2\x96\x81Hello");
  CHECK(tok->find_token("\xE2\x96\x81Hello") == 15043);
  CHECK_FALSE(tok->find_token("no such token").has_value());
  CHECK_THROWS_AS(tok->token_text(32000), kq::Error);

  SECTION("BOS/EOS follow add_bos/add_eos; empty text") {
    CHECK(tok->encode("", true) == Ids{1});
    CHECK(tok->encode("", false).empty());
    CHECK(tok->encode("Hello world", true) == Ids{1, 15043, 3186});
  }
  SECTION("one space is prefixed to the text, and again after each special token") {
    CHECK(tok->encode("Hello", false) == Ids{15043});
    CHECK(tok->encode(" Hello", false) == Ids{29871, 15043});
    // "<s>" and "</s>" are control tokens: matched whole, then the text after them is prefixed.
    CHECK(tok->encode("Hello</s>Hello", false) == Ids{15043, 2, 15043});
    CHECK(tok->encode("<s>Hello", false) == Ids{1, 15043});
  }
  SECTION("without parse_special, control-token text is ordinary text") {
    const Ids ids = tok->encode("<s>", false, false);
    CHECK(ids != Ids{1});
    CHECK(tok->decode(ids) == "<s>");
  }
  SECTION("byte fallback spells unknown characters as <0xXX> tokens") {
    // U+1D518 MATHEMATICAL FRAKTUR CAPITAL U is not in the vocabulary: F0 9D 94 98.
    const Ids ids = tok->encode("\xF0\x9D\x94\x98", false);
    CHECK(ids == Ids{29871, 0xF0 + 3, 0x9D + 3, 0x94 + 3, 0x98 + 3});
    CHECK(tok->token_to_piece(0xF0 + 3) == "\xF0");
    CHECK(tok->decode(ids) == "\xF0\x9D\x94\x98");
  }
  SECTION("pieces") {
    CHECK(tok->token_to_piece(15043) == " Hello");
    CHECK(tok->token_to_piece(1) == "<s>");
    CHECK(tok->token_to_piece(13) == "\n");
  }
}

TEST_CASE("spm: decode(encode(x)) == x", "[tokenizer]") {
  const auto tok = load_testdata_tokenizer("vocab/ggml-vocab-llama-spm.gguf");
  const std::vector<std::string> texts = {
      "Hello world",
      " leading space",
      "  two leading spaces and trailing  ",
      "tabs\tand\nnewlines\n\n\r\n",
      "emoji 🚀 😶‍🌫️ and flags 🇫🇷",
      "CJK 我想在apple工作1314151天～ 한국어 日本語のテキスト",
      "combining: e\xCC\x81 a\xCC\x8A n\xCC\x83 (decomposed), \xC3\xA9 (precomposed)",
      "Ελληνικά, русский, العربية, עברית, हिन्दी",
      "code: for (int i = 0; i < n; ++i) { x[i] *= 2; }",
      "special <s> inside and </s> at the end</s>",
      "numbers 3.14159 1,000,000 42",
      "\n",
      " ",
      "",
  };
  for (const std::string& text : texts) {
    INFO("text: " << text);
    CHECK(tok->decode(tok->encode(text, false)) == text);
    CHECK(tok->decode(tok->encode(text, true)) == text);
    CHECK(tok->decode(tok->encode(text, true, false)) == text);
  }
}

// Pre-tokenizer splits per tokenizer.ggml.pre, including llama.cpp's category quirks.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "runtime/pretokenizer.h"

using kq::PreTokenizer;
using Words = std::vector<std::string>;

TEST_CASE("pretokenizer: every known name builds and unknown names are errors", "[tokenizer]") {
  for (const std::string& name : PreTokenizer::known_names()) {
    INFO(name);
    CHECK_NOTHROW(PreTokenizer::create(name).split("Hello, world! 123 \xF0\x9F\x98\x81\n"));
  }
  try {
    PreTokenizer::create("klingon");
    FAIL("expected an error");
  } catch (const kq::Error& e) {
    CHECK(std::string(e.what()).find("klingon") != std::string::npos);
  }
}

TEST_CASE("pretokenizer: GPT-2 split", "[tokenizer]") {
  const PreTokenizer pt = PreTokenizer::create("gpt-2");
  CHECK(pt.split("Hello world") == Words{"Hello", " world"});
  CHECK(pt.split("   Hello") == Words{"  ", " Hello"});
  CHECK(pt.split("I'm 'RE 's") == Words{"I", "'m", " '", "RE", " '", "s"});
  CHECK(pt.split("a\n\nb  ") == Words{"a", "\n", "\n", "b", "  "});
  CHECK(pt.split("x 12345!!") == Words{"x", " 12345", "!!"});
  CHECK(pt.split("").empty());
  // True categories: ZWJ (a format character) joins the symbol run.
  CHECK(pt.split("😶‍🌫️") == Words{"😶‍🌫️"});
}

TEST_CASE("pretokenizer: Llama-3 split", "[tokenizer]") {
  const PreTokenizer pt = PreTokenizer::create("llama3");
  CHECK(pt.ignore_merges());
  CHECK(pt.default_add_bos());
  CHECK(pt.split("12345") == Words{"123", "45"});
  CHECK(pt.split("I'M here") == Words{"I", "'M", " here"});
  CHECK(pt.split("a\n\n  b") == Words{"a", "\n\n", " ", " b"});
  CHECK(pt.split("x!!\n\ny") == Words{"x", "!!\n\n", "y"});
}

TEST_CASE("pretokenizer: digit isolation (smollm, qwen2) and multi-regex lists", "[tokenizer]") {
  CHECK(PreTokenizer::create("smollm").split("in 2024!") == Words{"in", " ", "2", "0", "2", "4", "!"});
  CHECK(PreTokenizer::create("qwen2").split("in 2024!") == Words{"in", " ", "2", "0", "2", "4", "!"});
  // default: punctuation runs first, then GPT-2, then digit runs cut in threes.
  CHECK(PreTokenizer::create("default").split("pi=3.14159") == Words{"pi", "=", "3", ".", "141", "59"});
  // falcon: the last regex cuts runs of three ASCII digits out of every piece, spaces and all.
  CHECK(PreTokenizer::create("falcon").split("a 1234") == Words{"a", " ", "123", "4"});
  CHECK(PreTokenizer::create("falcon").split("(x)") == Words{"(", "x", ")"});
  // deepseek-coder: newlines alone, letters with one leading space, digits one by one.
  CHECK(PreTokenizer::create("deepseek-coder").split("ab 12\n") == Words{"ab", " ", "1", "2", "\n"});
}

TEST_CASE("pretokenizer: Unicode categories and White_Space as llama.cpp sees them", "[tokenizer]") {
  // Format characters (U+200D) are neither letters nor spaces, in every pattern.
  CHECK(PreTokenizer::create("qwen2").split("\u200d're") == Words{"\u200d'", "re"});
  CHECK(PreTokenizer::create("qwen2").split("\u00e9're") == Words{"\u00e9", "'re"});
  CHECK(PreTokenizer::create("qwen2").split("😶‍🌫️") == Words{"😶‍🌫️"});
  // Non-ASCII White_Space (U+3000) is whitespace, but only an ASCII space joins the next word.
  CHECK(PreTokenizer::create("gpt-2").split("a\xE3\x80\x80\xE3\x80\x80"
                                            "b") == Words{"a", "\xE3\x80\x80", "\xE3\x80\x80", "b"});
  CHECK(PreTokenizer::create("gpt-2").split("a  b") == Words{"a", " ", " b"});
  // U+180E is not White_Space (PCRE2 alone would call it a space): it is a symbol-like character.
  CHECK(PreTokenizer::create("gpt-2").split("a \xE1\xA0\x8E") == Words{"a", " \xE1\xA0\x8E"});
}

// Tokenizers built from small synthetic GGUFs: metadata defaults, errors, merge order, special tokens.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "formats/gguf.h"
#include "runtime/tokenizer.h"
#include "runtime/unicode.h"
#include "tests/support/testdata.h"

using kq::GgufValue;
using kq::Tokenizer;
using Ids = std::vector<int32_t>;

namespace {

// A vocabulary under construction: tokens with types (and scores for SPM).
struct VocabSpec {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<float> scores;
  int32_t add(const std::string& text, kq::TokenType type = kq::TokenType::kNormal, float score = 0.0f) {
    tokens.push_back(text);
    types.push_back(static_cast<int32_t>(type));
    scores.push_back(score);
    return static_cast<int32_t>(tokens.size()) - 1;
  }
};

// Writes the vocabulary plus `extra` keys to a scratch GGUF and builds its tokenizer.
struct Built {
  kq::GgufFile file;
  std::unique_ptr<Tokenizer> tok;
};
Built build(const std::string& name, const VocabSpec& v, const std::vector<std::pair<std::string, GgufValue>>& extra) {
  kq::GgufWriter w;
  w.set("general.architecture", GgufValue::string("llama"));
  w.set("tokenizer.ggml.tokens", GgufValue::string_array(v.tokens));
  w.set("tokenizer.ggml.token_type", GgufValue::i32_array(v.types));
  w.set("tokenizer.ggml.scores", GgufValue::f32_array(v.scores));
  for (const auto& [key, value] : extra) w.set(key, value);
  const std::string path = kq::test::scratch_dir() + "/" + name + ".gguf";
  w.write(path);
  kq::GgufFile file = kq::GgufFile::open(path);
  auto tok = Tokenizer::from_gguf(file);
  return {std::move(file), std::move(tok)};
}

// A byte-level BPE vocabulary: the 256 byte characters, then the given merged tokens.
VocabSpec byte_vocab() {
  VocabSpec v;
  for (int b = 0; b < 256; ++b) v.add(kq::unicode::byte_to_utf8(static_cast<uint8_t>(b)));
  return v;
}

std::vector<std::pair<std::string, GgufValue>> bpe_keys(const std::string& pre, std::vector<std::string> merges) {
  std::vector<std::pair<std::string, GgufValue>> keys = {
      {"tokenizer.ggml.model", GgufValue::string("gpt2")},
      {"tokenizer.ggml.merges", GgufValue::string_array(std::move(merges))}};
  if (!pre.empty()) keys.emplace_back("tokenizer.ggml.pre", GgufValue::string(pre));
  return keys;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const kq::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("tokenizer gguf: unsupported model and pre-tokenizer are errors naming them", "[tokenizer]") {
  VocabSpec v = byte_vocab();
  const std::string bad_pre = error_of([&] { build("bad-pre", v, bpe_keys("no-such-pre", {})); });
  CHECK(bad_pre.find("no-such-pre") != std::string::npos);
  const std::string bad_model = error_of([&] {
    build("bad-model", v, {{"tokenizer.ggml.model", GgufValue::string("bert")}});
  });
  CHECK(bad_model.find("'bert'") != std::string::npos);
  kq::GgufWriter w;
  w.set("tokenizer.ggml.model", GgufValue::string("llama"));
  const std::string path = kq::test::scratch_dir() + "/no-tokens.gguf";
  w.write(path);
  const kq::GgufFile file = kq::GgufFile::open(path);
  CHECK_THROWS_AS(Tokenizer::from_gguf(file), kq::Error);
}

TEST_CASE("tokenizer gguf: BPE merges by rank, defaults and pre-tokenizer choice", "[tokenizer]") {
  VocabSpec v = byte_vocab();
  const int32_t ab = v.add("ab"), bc = v.add("bc");
  const int32_t a = 'a', b = 'b', c = 'c';  // byte_vocab() gives byte b the id b

  SECTION("the lowest-rank merge wins") {
    CHECK(build("rank1", v, bpe_keys("gpt-2", {"b c", "a b"})).tok->encode("abc", false) == Ids{a, bc});
    CHECK(build("rank2", v, bpe_keys("gpt-2", {"a b", "b c"})).tok->encode("abc", false) == Ids{ab, c});
  }
  SECTION("missing pre falls back to default; BPE ids default to 11") {
    const auto built = build("nopre", v, bpe_keys("", {"a b"}));
    CHECK(built.tok->encode("ab", true) == Ids{ab});
    CHECK(built.tok->bos() == 11);
    CHECK(built.tok->eos() == 11);
    CHECK_FALSE(built.tok->add_bos());
  }
  SECTION("llama-bpe adds BOS by default and looks whole words up before merging") {
    const auto built = build("llama3", v, bpe_keys("llama-bpe", {}));
    CHECK(built.tok->add_bos());
    CHECK(built.tok->encode("ab", true) == Ids{11, ab});  // no merges, yet "ab" is one token
    CHECK(build("gpt2-nomerge", v, bpe_keys("gpt-2", {})).tok->encode("ab", false) == Ids{a, b});
  }
  SECTION("add_bos/add_eos keys override the defaults") {
    auto keys = bpe_keys("llama-bpe", {});
    keys.emplace_back("tokenizer.ggml.add_bos_token", GgufValue::boolean(false));
    keys.emplace_back("tokenizer.ggml.add_eos_token", GgufValue::boolean(true));
    keys.emplace_back("tokenizer.ggml.eos_token_id", GgufValue::u32(c));
    const auto built = build("override", v, keys);
    CHECK(built.tok->encode("ab", true) == Ids{ab, c});
    CHECK(built.tok->decode(Ids{ab, c}) == "ab");
  }
}

TEST_CASE("tokenizer gguf: special, user-defined and end-of-generation tokens", "[tokenizer]") {
  VocabSpec v = byte_vocab();
  const int32_t im_end = v.add("<|im_end|>", kq::TokenType::kNormal);  // control-looking: forced to control
  const int32_t user = v.add("<user>", kq::TokenType::kUserDefined);
  const int32_t longer = v.add("<user>!", kq::TokenType::kControl);
  const auto built = build("special", v, bpe_keys("gpt-2", {}));
  const Tokenizer& tok = *built.tok;
  CHECK(tok.token_type(im_end) == static_cast<int32_t>(kq::TokenType::kControl));
  CHECK(tok.is_eog(im_end));
  CHECK(tok.eot() == im_end);
  CHECK(tok.encode("x<|im_end|>", false) == Ids{'x', im_end});
  // User-defined tokens are split out even when special tokens are not parsed.
  CHECK(tok.encode("x<user>y", false, false) == Ids{'x', user, 'y'});
  // The longest special token is matched first.
  CHECK(tok.encode("<user>!<user>", false) == Ids{longer, user});
  CHECK(tok.decode(tok.encode("a<user>b<|im_end|>", false)) == "a<user>b<|im_end|>");
}

TEST_CASE("tokenizer gguf: SPM merges by score, ties leftmost, unknown fallback", "[tokenizer]") {
  VocabSpec v;
  const int32_t unk = v.add("<unk>", kq::TokenType::kUnknown);
  v.add("<s>", kq::TokenType::kControl);
  v.add("</s>", kq::TokenType::kControl);
  const int32_t a = v.add("a"), b = v.add("b"), c = v.add("c");
  const int32_t ab = v.add("ab", kq::TokenType::kNormal, -2.0f);
  const int32_t bc = v.add("bc", kq::TokenType::kNormal, -1.0f);
  const int32_t space = v.add("\xE2\x96\x81", kq::TokenType::kNormal, -5.0f);
  std::vector<std::pair<std::string, GgufValue>> keys = {
      {"tokenizer.ggml.model", GgufValue::string("llama")},
      {"tokenizer.ggml.add_space_prefix", GgufValue::boolean(false)}};
  const auto built = build("spm", v, keys);
  const Tokenizer& tok = *built.tok;
  CHECK(tok.encode("abc", false) == Ids{a, bc});  // "bc" scores higher than "ab"
  CHECK(tok.encode("abab", false) == Ids{ab, ab});
  CHECK(tok.encode("abc", true) == Ids{1, a, bc});
  CHECK(tok.encode("a c", false) == Ids{a, space, c});
  // No byte tokens in this vocabulary: an unknown character becomes <unk> per byte.
  CHECK(tok.encode("\xC3\xA9", false) == Ids{unk, unk});
  CHECK(tok.encode("b", false) == Ids{b});

  keys[1].second = GgufValue::boolean(true);
  const auto prefixed = build("spm-prefix", v, keys);
  CHECK(prefixed.tok->encode("abc", false) == Ids{space, a, bc});
  CHECK(prefixed.tok->decode(Ids{space, a, bc}) == "abc");
}

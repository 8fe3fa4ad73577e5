// Tokenizer: text <-> token ids from GGUF metadata (SentencePiece-style or byte-level BPE),
// matching llama.cpp token for token.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kq {

class GgufFile;

// tokenizer.ggml.token_type values.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// Hashes token texts; transparent so that lookups by string_view need no copy.
struct TokenTextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// The vocabulary and special-token settings shared by both tokenizer models.
struct TokenizerVocab {
  std::vector<std::string> texts;  // [n_vocab] token text as stored (SPM: U+2581 for space; BPE: GPT-2 bytes)
  std::vector<float> scores;       // [n_vocab] SPM merge priority (0 when absent)
  std::vector<TokenType> types;    // [n_vocab]
  // text -> id; a later duplicate wins, as in llama.cpp
  std::unordered_map<std::string, int32_t, TokenTextHash, std::equal_to<>> ids;
  int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, sep = -1, pad = -1;
  bool add_bos = false, add_eos = false;
  std::vector<int32_t> special_by_length;  // control/user-defined/unknown ids, longest text first
  std::vector<int32_t> eog;                // sorted ids that end generation

  int32_t find(std::string_view text) const;  // -1 when absent
};

class Tokenizer {
 public:
  virtual ~Tokenizer();

  // Builds the tokenizer a GGUF describes. Throws kq::Error for a missing vocabulary, an
  // unsupported `tokenizer.ggml.model` or an unknown BPE `tokenizer.ggml.pre`, naming it.
  static std::unique_ptr<Tokenizer> from_gguf(const GgufFile& file);

  // Turns text into ids. add_special adds BOS/EOS as the model's add_bos/add_eos say;
  // parse_special matches control and unknown tokens' texts in `text` whole (user-defined
  // tokens are always matched), longest first, before the model's own splitting.
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special = true) const;
  // Turns ids back into text: the inverse of encode. A leading BOS and trailing EOS that
  // encode(add_special) would add are dropped, other special tokens render as their text,
  // and (SPM) the one space encode prefixes at the start and after special tokens is removed.
  std::string decode(const std::vector<int32_t>& ids) const;
  // Returns the bytes one token stands for (special tokens as their text; empty for unused).
  std::string token_to_piece(int32_t id) const;

  int32_t bos() const { return vocab_.bos; }
  int32_t eos() const { return vocab_.eos; }
  int32_t eot() const { return vocab_.eot; }  // -1 if none
  // True for EOS, EOT, EOM and the end-of-turn control tokens llama.cpp recognizes by name.
  bool is_eog(int32_t id) const;
  int32_t n_vocab() const { return static_cast<int32_t>(vocab_.texts.size()); }
  bool add_bos() const { return vocab_.add_bos; }
  bool add_eos() const { return vocab_.add_eos; }
  std::string_view token_text(int32_t id) const;  // throws for an id out of range
  int32_t token_type(int32_t id) const;           // a TokenType value; throws out of range
  std::optional<int32_t> find_token(std::string_view text) const;
  const TokenizerVocab& vocab() const { return vocab_; }
  // "spm" or "bpe".
  virtual std::string_view model_name() const = 0;

 protected:
  explicit Tokenizer(TokenizerVocab vocab);

  // Appends the ids of one run of ordinary text (no special tokens in it). `after_special`
  // is true for a run at the start of the text or right after a special token.
  virtual void encode_text(std::string_view text, bool after_special, std::vector<int32_t>& out) const = 0;
  // Returns the bytes of a normal or byte token.
  virtual std::string normal_piece(int32_t id) const = 0;
  // SPM's add_space_prefix: encode_text adds one space where after_special is true.
  virtual bool adds_space_prefix() const { return false; }

  TokenizerVocab vocab_;
};

}  // namespace kq

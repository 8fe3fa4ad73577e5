// Byte-level BPE pre-tokenizers: the regex split rules llama.cpp applies per `tokenizer.ggml.pre`.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kq {

// Splits text into words before BPE merges. Each named pre-tokenizer is a list of regexes
// applied in sequence: every regex splits each current piece into its matches and the gaps
// between them (gaps are kept), and matching never looks past a piece's ends.
class PreTokenizer {
 public:
  // Builds the pre-tokenizer llama.cpp uses for `name`; throws kq::Error naming an unknown one.
  static PreTokenizer create(std::string_view name);
  // Builds one from explicit patterns (tests), with the same llama.cpp-compatible rewriting.
  static PreTokenizer from_patterns(std::string name, const std::vector<std::string>& patterns);

  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;
  ~PreTokenizer();

  // Returns the words of `text` as UTF-8 (malformed input bytes come back as U+FFFD).
  std::vector<std::string> split(std::string_view text) const;

  const std::string& name() const { return name_; }
  // llama.cpp looks a whole word up in the vocabulary before merging (llama-bpe, tekken).
  bool ignore_merges() const { return ignore_merges_; }
  // The pre-tokenizer implies add_bos=true when the GGUF does not say otherwise.
  bool default_add_bos() const { return default_add_bos_; }
  // Every registered name (aliases included), for messages and tests.
  static std::vector<std::string> known_names();

 private:
  struct Regex;
  PreTokenizer() = default;

  std::string name_;
  bool ignore_merges_ = false;
  bool default_add_bos_ = false;
  std::vector<std::unique_ptr<Regex>> regexes_;
};

}  // namespace kq

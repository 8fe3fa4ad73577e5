// SentencePiece-style tokenizer (tokenizer.ggml.model = llama): score-driven merges over UTF-8
// characters with <0xXX> byte fallback, spaces as U+2581, one space prefixed per text run.
#include <cstdio>
#include <queue>
#include <string>
#include <vector>

#include "common/error.h"
#include "formats/gguf.h"
#include "runtime/tokenizer_models.h"
#include "runtime/unicode.h"

namespace kq {

namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK

class SpmTokenizer final : public Tokenizer {
 public:
  SpmTokenizer(TokenizerVocab vocab, bool add_space_prefix)
      : Tokenizer(std::move(vocab)), add_space_prefix_(add_space_prefix) {
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      byte_tokens_[b] = vocab_.find(name);
      if (byte_tokens_[b] < 0) byte_tokens_[b] = vocab_.find(std::string(1, static_cast<char>(b)));
    }
  }

  std::string_view model_name() const override { return "spm"; }

 protected:
  bool adds_space_prefix() const override { return add_space_prefix_; }

  void encode_text(std::string_view raw, bool after_special, std::vector<int32_t>& out) const override {
    std::string text;
    if (add_space_prefix_ && after_special) text += ' ';
    text += raw;
    std::string escaped;
    for (const char c : text) {
      if (c == ' ')
        escaped += kSpaceMark;
      else
        escaped += c;
    }
    merge(escaped, out);
  }

  std::string normal_piece(int32_t id) const override {
    const std::string& t = vocab_.texts[id];
    if (vocab_.types[id] == TokenType::kByte) {
      // "<0xXX>"; anything else is rendered as its text.
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>')
        return std::string(1, static_cast<char>(std::stoi(t.substr(3, 2), nullptr, 16)));
      return t;
    }
    std::string piece;
    for (size_t i = 0; i < t.size();) {
      if (t.compare(i, kSpaceMark.size(), kSpaceMark) == 0) {
        piece += ' ';
        i += kSpaceMark.size();
      } else {
        piece += t[i++];
      }
    }
    return piece;
  }

 private:
  struct Symbol {
    size_t begin, length;  // bytes of the text; length 0 once merged into its left neighbour
    int prev, next;
  };
  struct Candidate {
    float score;
    int left, right;
    size_t length;  // combined byte length when queued; stale entries no longer match it
    bool operator<(const Candidate& o) const {
      // Highest score first; on a tie, the leftmost pair.
      return score < o.score || (score == o.score && left > o.left);
    }
  };

  // Repeatedly merges the adjacent pair whose concatenation is the best-scoring vocabulary
  // token, then emits each symbol as its token or, failing that, as byte tokens.
  void merge(const std::string& text, std::vector<int32_t>& out) const {
    std::vector<Symbol> symbols;
    for (size_t off = 0; off < text.size();) {
      const size_t len = std::min(unicode::utf8_sequence_length(static_cast<uint8_t>(text[off])), text.size() - off);
      const int index = static_cast<int>(symbols.size());
      symbols.push_back({off, len, index - 1, off + len == text.size() ? -1 : index + 1});
      off += len;
    }
    std::priority_queue<Candidate> queue;
    const auto try_pair = [&](int left, int right) {
      if (left < 0 || right < 0) return;
      const size_t length = symbols[left].length + symbols[right].length;
      const int32_t id = vocab_.find(std::string_view(text).substr(symbols[left].begin, length));
      if (id < 0) return;
      queue.push({vocab_.scores[id], left, right, length});
    };
    for (size_t i = 1; i < symbols.size(); ++i) try_pair(static_cast<int>(i) - 1, static_cast<int>(i));

    while (!queue.empty()) {
      const Candidate c = queue.top();
      queue.pop();
      Symbol& left = symbols[c.left];
      Symbol& right = symbols[c.right];
      if (left.length == 0 || right.length == 0 || left.length + right.length != c.length) continue;
      left.length += right.length;
      right.length = 0;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next].prev = c.left;
      try_pair(left.prev, c.left);
      try_pair(c.left, left.next);
    }

    for (int i = symbols.empty() ? -1 : 0; i != -1; i = symbols[i].next) {
      const std::string_view piece = std::string_view(text).substr(symbols[i].begin, symbols[i].length);
      const int32_t id = vocab_.find(piece);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
      // Only single characters can miss (every merge makes a vocabulary token): spell them in bytes.
      for (const char b : piece) {
        const int32_t byte_id = byte_tokens_[static_cast<uint8_t>(b)];
        if (byte_id >= 0)
          out.push_back(byte_id);
        else if (vocab_.unk >= 0)
          out.push_back(vocab_.unk);
      }
    }
  }

  bool add_space_prefix_;
  int32_t byte_tokens_[256];
};

}  // namespace

std::unique_ptr<Tokenizer> make_spm_tokenizer(const GgufFile& file) {
  VocabDefaults defaults;
  defaults.bos = 1;
  defaults.eos = 2;
  defaults.unk = 0;
  defaults.add_bos = true;
  TokenizerVocab vocab = load_vocab(file, defaults);
  const bool add_space_prefix = file.get_bool("tokenizer.ggml.add_space_prefix", true);
  return std::make_unique<SpmTokenizer>(std::move(vocab), add_space_prefix);
}

}  // namespace kq

// Byte-level BPE tokenizer (tokenizer.ggml.model = gpt2): regex pre-tokenizer, GPT-2 byte to
// unicode mapping, merges applied lowest rank first.
#include <cstdio>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/error.h"
#include "formats/gguf.h"
#include "runtime/pretokenizer.h"
#include "runtime/tokenizer_models.h"
#include "runtime/unicode.h"

namespace kq {

namespace {

class BpeTokenizer final : public Tokenizer {
 public:
  BpeTokenizer(TokenizerVocab vocab, PreTokenizer pre, std::unordered_map<std::string, int32_t> ranks)
      : Tokenizer(std::move(vocab)), pre_(std::move(pre)), ranks_(std::move(ranks)) {}

  std::string_view model_name() const override { return "bpe"; }

  // The key of a merge pair in ranks_: unambiguous whatever bytes the halves hold.
  static std::string pair_key(std::string_view left, std::string_view right) {
    std::string key = std::to_string(left.size());
    key += ':';
    key += left;
    key += right;
    return key;
  }

 protected:
  void encode_text(std::string_view text, bool /*after_special*/, std::vector<int32_t>& out) const override {
    for (const std::string& word : pre_.split(text)) {
      std::string mapped;  // the word's bytes as GPT-2 printable characters, as vocabularies store them
      for (const char b : word) mapped += unicode::byte_to_utf8(static_cast<uint8_t>(b));
      if (pre_.ignore_merges()) {
        if (const int32_t id = vocab_.find(mapped); id >= 0) {
          out.push_back(id);
          continue;
        }
      }
      merge(mapped, out);
    }
  }

  std::string normal_piece(int32_t id) const override {
    if (vocab_.types[id] != TokenType::kNormal) return {};  // llama.cpp prints BPE byte tokens as nothing
    const std::string& t = vocab_.texts[id];
    std::string bytes;
    for (size_t off = 0; off < t.size();) {
      const size_t start = off;
      const uint32_t cp = unicode::decode_utf8(t, off);
      if (const auto b = unicode::codepoint_to_byte(cp))
        bytes += static_cast<char>(*b);
      else
        bytes.append(t, start, off - start);  // not a GPT-2 byte image: keep it as it is
    }
    return bytes;
  }

 private:
  struct Symbol {
    size_t begin, length;  // bytes of the word; length 0 once merged into its left neighbour
    int prev, next;
  };
  struct Candidate {
    int32_t rank;
    int left, right;
    std::string text;  // the pair's text when queued; a stale entry no longer matches it
    bool operator<(const Candidate& o) const {
      // Lowest rank first; on a tie, the leftmost pair.
      return rank > o.rank || (rank == o.rank && left > o.left);
    }
  };

  // Applies merges to one pre-tokenized word, lowest rank first, then emits its symbols.
  void merge(const std::string& word, std::vector<int32_t>& out) const {
    std::vector<Symbol> symbols;
    for (size_t off = 0; off < word.size();) {
      const size_t len = std::min(unicode::utf8_sequence_length(static_cast<uint8_t>(word[off])), word.size() - off);
      const int index = static_cast<int>(symbols.size());
      symbols.push_back({off, len, index - 1, off + len == word.size() ? -1 : index + 1});
      off += len;
    }
    const std::string_view w(word);
    const auto text_of = [&](const Symbol& s) { return w.substr(s.begin, s.length); };
    std::priority_queue<Candidate> queue;
    const auto try_pair = [&](int left, int right) {
      if (left < 0 || right < 0) return;
      const auto it = ranks_.find(pair_key(text_of(symbols[left]), text_of(symbols[right])));
      if (it == ranks_.end()) return;
      queue.push({it->second, left, right,
                  std::string(w.substr(symbols[left].begin, symbols[left].length + symbols[right].length))});
    };
    for (size_t i = 1; i < symbols.size(); ++i) try_pair(static_cast<int>(i) - 1, static_cast<int>(i));

    while (!queue.empty()) {
      const Candidate c = queue.top();
      queue.pop();
      Symbol& left = symbols[c.left];
      Symbol& right = symbols[c.right];
      if (left.length == 0 || right.length == 0) continue;
      if (left.length + right.length != c.text.size() || w.substr(left.begin, c.text.size()) != c.text) continue;
      left.length += right.length;
      right.length = 0;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next].prev = c.left;
      try_pair(left.prev, c.left);
      try_pair(c.left, left.next);
    }

    for (int i = symbols.empty() ? -1 : 0; i != -1; i = symbols[i].next) {
      const std::string_view piece = text_of(symbols[i]);
      if (const int32_t id = vocab_.find(piece); id >= 0) {
        out.push_back(id);
        continue;
      }
      // A symbol that is no token: llama.cpp looks each of its bytes up on its own and keeps
      // the ones that are tokens.
      for (const char b : piece)
        if (const int32_t id = vocab_.find(std::string_view(&b, 1)); id >= 0) out.push_back(id);
    }
  }

  PreTokenizer pre_;
  std::unordered_map<std::string, int32_t> ranks_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_bpe_tokenizer(const GgufFile& file) {
  std::string pre_name = file.get_string("tokenizer.ggml.pre", "");
  if (pre_name.empty()) {
    std::fprintf(stderr, "warning: %s: no tokenizer.ggml.pre; using the 'default' pre-tokenizer\n",
                 file.path().c_str());
    pre_name = "default";
  }
  PreTokenizer pre = [&] {
    try {
      return PreTokenizer::create(pre_name);
    } catch (const Error& e) {
      throw Error(file.path() + ": " + e.what());
    }
  }();

  const GgufValue* merges = file.find("tokenizer.ggml.merges");
  if (!merges) throw Error(file.path() + ": byte-level BPE vocabulary without tokenizer.ggml.merges");
  std::unordered_map<std::string, int32_t> ranks;
  const std::vector<std::string>& lines = merges->strings();
  ranks.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    // "left right", split at the first space after position 0 (a merge may start with a space).
    const size_t sp = lines[i].find(' ', 1);
    if (sp == std::string::npos) continue;
    const std::string_view line(lines[i]);
    ranks.emplace(BpeTokenizer::pair_key(line.substr(0, sp), line.substr(sp + 1)), static_cast<int32_t>(i));
  }

  VocabDefaults defaults;
  defaults.bos = 11;
  defaults.eos = 11;
  defaults.add_bos = pre.default_add_bos();
  TokenizerVocab vocab = load_vocab(file, defaults);
  return std::make_unique<BpeTokenizer>(std::move(vocab), std::move(pre), std::move(ranks));
}

}  // namespace kq

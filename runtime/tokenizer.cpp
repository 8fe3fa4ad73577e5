// Tokenizer: vocabulary loading from GGUF, special-token splitting and decoding shared by the
// SentencePiece-style and byte-level BPE models (the models live in tokenizer_spm/_bpe.cpp).
#include "runtime/tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

#include "common/error.h"
#include "formats/gguf.h"
#include "runtime/tokenizer_models.h"

namespace kq {

namespace {

// llama.cpp finds these by their text when the GGUF names no id (its "control-looking" tokens).
constexpr const char* kEotNames[] = {
    "<|eot_id|>",    "<|im_end|>", "<|end|>", "<end_of_turn>",
    "<|endoftext|>", "<EOT>",      "_<EOT>",  "<\uFF5Cend\u2581of\u2581sentence\uFF5C>"};  // DeepSeek
constexpr const char* kEomNames[] = {"<|eom_id|>"};
constexpr const char* kEogNames[] = {"<|eot_id|>",    "<|im_end|>", "<|end|>", "<end_of_turn>",
                                     "<|endoftext|>", "<|eom_id|>", "<EOT>",   "_<EOT>"};
constexpr const char* kFimPreNames[] = {"<|fim_prefix|>", "<fim-prefix>", "<\uFF5Cfim\u2581begin\uFF5C>", "<PRE>"};
constexpr const char* kFimSufNames[] = {"<|fim_suffix|>", "<fim-suffix>", "<\uFF5Cfim\u2581hole\uFF5C>", "<SUF>"};
constexpr const char* kFimMidNames[] = {"<|fim_middle|>", "<fim-middle>", "<\uFF5Cfim\u2581end\uFF5C>", "<MID>"};
constexpr const char* kFimPadNames[] = {"<|fim_pad|>", "<fim-pad>", "<PAD>"};
constexpr const char* kFimRepNames[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>"};
constexpr const char* kFimSepNames[] = {"<|file_sep|>"};

bool is_special_type(TokenType t) {
  return t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown;
}

// Reads an optional token-id key; an id outside the vocabulary keeps `id` (llama.cpp warns too).
void read_id(const GgufFile& file, const char* key, int32_t n_vocab, int32_t& id) {
  const GgufValue* v = file.find(key);
  if (!v) return;
  const int64_t value = file.get_int(key, -1);
  if (value >= 0 && value < n_vocab) {
    id = static_cast<int32_t>(value);
  } else if (value != 0xFFFFFFFF && value != -1) {  // 0xFFFFFFFF is how converters write "none"
    std::fprintf(stderr, "warning: %s: %s = %lld is not a token id (n_vocab %d); using %d\n", file.path().c_str(), key,
                 static_cast<long long>(value), n_vocab, id);
  }
}

// Finds the first token, in the order llama.cpp would meet it, whose text is one of `names`,
// and forces it to be a control token. llama.cpp walks its std::unordered_map text -> id; `ids`
// is built by the same insertions (in id order, no reserve), so with libstdc++ it is walked in the
// same order and a vocabulary with several candidates (SmolLM2 has <|im_end|> and <|endoftext|>)
// gets the same answer.
template <size_t N>
void detect_by_name(TokenizerVocab& v, const char* const (&names)[N], int32_t& id) {
  if (id >= 0) return;
  for (const auto& [text, token] : v.ids) {
    if (std::find(std::begin(names), std::end(names), std::string_view(text)) == std::end(names)) continue;
    id = token;
    v.types[token] = TokenType::kControl;
    return;
  }
}

}  // namespace

int32_t TokenizerVocab::find(std::string_view text) const {
  const auto it = ids.find(text);
  return it == ids.end() ? -1 : it->second;
}

TokenizerVocab load_vocab(const GgufFile& file, const VocabDefaults& defaults) {
  const GgufValue* tokens = file.find("tokenizer.ggml.tokens");
  if (!tokens) throw Error(file.path() + ": no tokenizer.ggml.tokens (the file has no vocabulary)");
  const std::vector<std::string>& words = tokens->strings();
  const size_t n = words.size();
  if (n == 0 || n > 0x7FFFFFFF)
    throw Error(file.path() + ": tokenizer.ggml.tokens has " + std::to_string(n) + " entries");
  const auto n_vocab = static_cast<int32_t>(n);

  TokenizerVocab v;
  v.texts.resize(n);
  v.scores.assign(n, 0.0f);
  v.types.assign(n, TokenType::kNormal);
  const GgufValue* scores = file.find("tokenizer.ggml.scores");
  const GgufValue* types = file.find("tokenizer.ggml.token_type");
  for (const auto& [arr, key] : {std::pair{scores, "scores"}, std::pair{types, "token_type"}}) {
    if (arr && (!arr->is_array() || arr->size() != n))
      throw Error(file.path() + ": tokenizer.ggml." + key + " has " + std::to_string(arr->size()) +
                  " entries, tokenizer.ggml.tokens " + std::to_string(n));
  }
  // No reserve(): the bucket layout, hence the walk order detect_by_name relies on, must be llama.cpp's.
  for (size_t i = 0; i < n; ++i) {
    // llama.cpp renames empty tokens so that they can never match text.
    v.texts[i] = words[i].empty() ? "[EMPTY_" + std::to_string(i) + "]" : words[i];
    if (scores) v.scores[i] = static_cast<float>(scores->float_at(i));
    if (types) {
      const int64_t t = types->int_at(i);
      v.types[i] = (t >= 0 && t <= 6) ? static_cast<TokenType>(t) : TokenType::kUndefined;
    }
    v.ids[v.texts[i]] = static_cast<int32_t>(i);
  }

  v.bos = defaults.bos;
  v.eos = defaults.eos;
  v.unk = defaults.unk;
  int32_t fim_pre = -1, fim_suf = -1, fim_mid = -1, fim_pad = -1, fim_rep = -1, fim_sep = -1;
  read_id(file, "tokenizer.ggml.bos_token_id", n_vocab, v.bos);
  read_id(file, "tokenizer.ggml.eos_token_id", n_vocab, v.eos);
  read_id(file, "tokenizer.ggml.eot_token_id", n_vocab, v.eot);
  read_id(file, "tokenizer.ggml.eom_token_id", n_vocab, v.eom);
  read_id(file, "tokenizer.ggml.unknown_token_id", n_vocab, v.unk);
  read_id(file, "tokenizer.ggml.seperator_token_id", n_vocab, v.sep);
  read_id(file, "tokenizer.ggml.padding_token_id", n_vocab, v.pad);
  read_id(file, "tokenizer.ggml.fim_pre_token_id", n_vocab, fim_pre);
  read_id(file, "tokenizer.ggml.fim_suf_token_id", n_vocab, fim_suf);
  read_id(file, "tokenizer.ggml.fim_mid_token_id", n_vocab, fim_mid);
  read_id(file, "tokenizer.ggml.fim_pad_token_id", n_vocab, fim_pad);
  read_id(file, "tokenizer.ggml.fim_rep_token_id", n_vocab, fim_rep);
  read_id(file, "tokenizer.ggml.fim_sep_token_id", n_vocab, fim_sep);
  v.add_bos = file.get_bool("tokenizer.ggml.add_bos_token", defaults.add_bos);
  v.add_eos = file.get_bool("tokenizer.ggml.add_eos_token", false);
  if (v.bos >= n_vocab) v.bos = -1;  // a default that does not fit this vocabulary
  if (v.eos >= n_vocab) v.eos = -1;
  if (v.unk >= n_vocab) v.unk = -1;

  // Name-based detection, as llama.cpp does for GGUFs that do not set these ids. Only EOT/EOM
  // and the FIM pad/repo/separator ids matter here (for is_eog), but every detected token
  // becomes a control token, which changes how text containing it is split.
  detect_by_name(v, kEotNames, v.eot);
  detect_by_name(v, kEomNames, v.eom);
  detect_by_name(v, kFimPreNames, fim_pre);
  detect_by_name(v, kFimSufNames, fim_suf);
  detect_by_name(v, kFimMidNames, fim_mid);
  detect_by_name(v, kFimPadNames, fim_pad);
  detect_by_name(v, kFimRepNames, fim_rep);
  detect_by_name(v, kFimSepNames, fim_sep);

  for (const int32_t id : {fim_pad, fim_rep, fim_sep, v.eos, v.eot, v.eom})
    if (id >= 0) v.eog.push_back(id);
  for (const char* name : kEogNames) {
    const int32_t id = v.find(name);
    if (id < 0) continue;
    v.eog.push_back(id);
    v.types[id] = TokenType::kControl;
  }
  std::sort(v.eog.begin(), v.eog.end());
  v.eog.erase(std::unique(v.eog.begin(), v.eog.end()), v.eog.end());

  // Special tokens are matched in the text longest first (ties: lower id first).
  for (int32_t id = 0; id < n_vocab; ++id)
    if (is_special_type(v.types[id])) v.special_by_length.push_back(id);
  std::stable_sort(v.special_by_length.begin(), v.special_by_length.end(),
                   [&](int32_t a, int32_t b) { return v.texts[a].size() > v.texts[b].size(); });
  return v;
}

Tokenizer::Tokenizer(TokenizerVocab vocab) : vocab_(std::move(vocab)) {}
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const GgufFile& file) {
  const std::string model = file.get_string("tokenizer.ggml.model", "");
  if (model == "llama") return make_spm_tokenizer(file);
  if (model == "gpt2") return make_bpe_tokenizer(file);
  throw Error(file.path() + ": unsupported tokenizer model '" + model +
              "' (tokenizer.ggml.model; kq supports 'llama' (SentencePiece) and 'gpt2' (byte-level BPE))");
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  // A fragment is either a token (special) or a run of text [offset, offset + length).
  struct Fragment {
    int32_t token;  // -1 for text
    size_t offset, length;
  };
  std::vector<Fragment> fragments;
  if (!text.empty()) fragments.push_back({-1, 0, text.size()});

  // Like llama.cpp, split on one special token at a time over the whole text, longest first,
  // so a longer token wins over any shorter one it contains.
  for (const int32_t special : vocab_.special_by_length) {
    const TokenType type = vocab_.types[special];
    if (!parse_special && (type == TokenType::kControl || type == TokenType::kUnknown)) continue;
    const std::string& needle = vocab_.texts[special];
    std::vector<Fragment> next;
    bool changed = false;
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      const std::string_view hay = text.substr(f.offset, f.length);
      size_t pos = 0;
      for (size_t hit; (hit = hay.find(needle, pos)) != std::string_view::npos; pos = hit + needle.size()) {
        if (hit > pos) next.push_back({-1, f.offset + pos, hit - pos});
        next.push_back({special, 0, 0});
        changed = true;
      }
      if (pos < hay.size()) next.push_back({-1, f.offset + pos, hay.size() - pos});
    }
    if (changed) fragments = std::move(next);
  }

  std::vector<int32_t> out;
  if (add_special && vocab_.add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);
  bool after_special = true;
  for (const Fragment& f : fragments) {
    if (f.token >= 0) {
      out.push_back(f.token);
      after_special = true;
    } else {
      encode_text(text.substr(f.offset, f.length), after_special, out);
      after_special = false;
    }
  }
  if (add_special && vocab_.add_eos && vocab_.eos >= 0) out.push_back(vocab_.eos);
  return out;
}

std::string Tokenizer::token_to_piece(int32_t id) const {
  switch (static_cast<TokenType>(token_type(id))) {
    case TokenType::kControl:
    case TokenType::kUnknown:
    case TokenType::kUserDefined:
      return vocab_.texts[id];
    case TokenType::kNormal:
    case TokenType::kByte:
      return normal_piece(id);
    default:
      return {};  // unused and undefined tokens print nothing, as in llama.cpp
  }
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  size_t begin = 0, end = ids.size();
  if (vocab_.add_bos && end > 0 && ids[0] == vocab_.bos) begin = 1;
  if (vocab_.add_eos && end > begin && ids[end - 1] == vocab_.eos) --end;
  std::string out;
  bool strip_space = adds_space_prefix();
  for (size_t i = begin; i < end; ++i) {
    std::string piece = token_to_piece(ids[i]);
    const bool special = is_special_type(static_cast<TokenType>(token_type(ids[i])));
    // encode put exactly one space before the text at the start and after each special token.
    if (strip_space && !special && !piece.empty()) {
      if (piece[0] == ' ') piece.erase(0, 1);
      strip_space = false;
    }
    if (special) strip_space = adds_space_prefix();
    out += piece;
  }
  return out;
}

bool Tokenizer::is_eog(int32_t id) const {
  return std::binary_search(vocab_.eog.begin(), vocab_.eog.end(), id);
}

std::string_view Tokenizer::token_text(int32_t id) const {
  token_type(id);  // range check
  return vocab_.texts[id];
}

int32_t Tokenizer::token_type(int32_t id) const {
  if (id < 0 || id >= n_vocab())
    throw Error("token id " + std::to_string(id) + " is out of range (n_vocab " + std::to_string(n_vocab()) + ")");
  return static_cast<int32_t>(vocab_.types[id]);
}

std::optional<int32_t> Tokenizer::find_token(std::string_view text) const {
  const int32_t id = vocab_.find(text);
  if (id < 0) return std::nullopt;
  return id;
}

}  // namespace kq

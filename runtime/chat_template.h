// ChatTemplate: renders chat messages for the prompt formats kq knows (ChatML, Llama 3, Mistral, Gemma).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kq {

class GgufFile;
class Tokenizer;

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

enum class ChatFormat { kChatML, kLlama3, kMistral, kGemma };

const char* chat_format_name(ChatFormat f);

// One built-in renderer, chosen from a model's Jinja `tokenizer.chat_template` by its markers
// (kq runs no Jinja: the few formats small models use are written out here).
class ChatTemplate {
 public:
  explicit ChatTemplate(ChatFormat format = ChatFormat::kChatML) : format_(format) {}

  // Picks the format whose distinctive tokens appear in a Jinja template. Returns false (and
  // ChatML) when none does; an empty template counts as unknown. Also picks up a default system
  // prompt the template inserts when the conversation has none (SmolLM2 does).
  static bool detect(std::string_view jinja, ChatTemplate& out);

  // Chooses the template for a model's GGUF. Unknown or missing templates fall back to ChatML and
  // set `warning`; a fallback whose special tokens the vocabulary lacks is a kq::Error naming them.
  static ChatTemplate for_model(const GgufFile& file, const Tokenizer& tok, std::string* warning);

  // Renders the conversation. The text never contains BOS: encode it with add_special (see
  // encode()) so BOS comes from the vocabulary's own rule. add_generation_prompt appends the
  // header of an assistant turn for the model to complete.
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;

  // Renders and tokenizes, adding BOS when the format starts with one (Llama 3, Mistral, Gemma)
  // or the vocabulary asks for it.
  std::vector<int32_t> encode(const Tokenizer& tok, const std::vector<ChatMessage>& messages,
                              bool add_generation_prompt) const;

  ChatFormat format() const { return format_; }
  const std::string& default_system() const { return default_system_; }
  void set_default_system(std::string text) { default_system_ = std::move(text); }
  // Text of the end-of-sequence token the Mistral format closes assistant turns with.
  void set_eos_text(std::string text) { eos_text_ = std::move(text); }
  // Special tokens the format's text relies on (checked against a vocabulary).
  std::vector<std::string> required_tokens() const;

 private:
  std::string render_chatml(const std::vector<ChatMessage>& m, bool gen) const;
  std::string render_llama3(const std::vector<ChatMessage>& m, bool gen) const;
  std::string render_mistral(const std::vector<ChatMessage>& m, bool gen) const;
  std::string render_gemma(const std::vector<ChatMessage>& m, bool gen) const;

  ChatFormat format_;
  std::string default_system_;  // used when messages[0] is not a system message; empty: none
  std::string eos_text_ = "</s>";
};

}  // namespace kq

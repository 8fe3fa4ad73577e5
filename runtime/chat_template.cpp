// Built-in chat prompt renderers, and the choice among them from a GGUF's Jinja chat template.
#include "runtime/chat_template.h"

#include <utility>

#include "common/error.h"
#include "formats/gguf.h"
#include "runtime/tokenizer.h"

namespace kq {
namespace {

// Removes leading and trailing whitespace, as the Jinja `trim` filter in the Llama 3 and Gemma
// templates does.
std::string trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\r\f\v";
  const size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(kSpace);
  return std::string(s.substr(b, e - b + 1));
}

// Finds the default system prompt a ChatML template writes as a literal, e.g. SmolLM2's
// `'<|im_start|>system\nYou are a helpful AI assistant named SmolLM, ...<|im_end|>\n'`.
// Only a plain string literal counts: anything with Jinja expressions in it is the template
// printing the user's own system message.
std::string chatml_default_system(std::string_view jinja) {
  constexpr std::string_view kHead = "<|im_start|>system";
  for (size_t at = jinja.find(kHead); at != std::string_view::npos; at = jinja.find(kHead, at + 1)) {
    size_t body = at + kHead.size();
    // The newline is either a real one inside the literal or the two characters `\n`.
    if (jinja.substr(body, 1) == "\n")
      body += 1;
    else if (jinja.substr(body, 2) == "\\n")
      body += 2;
    else
      continue;
    const size_t end = jinja.find("<|im_end|>", body);
    if (end == std::string_view::npos) return {};
    const std::string_view text = jinja.substr(body, end - body);
    if (text.empty() || text.find_first_of("'\"{}+") != std::string_view::npos) continue;
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == 'n') {
        out += '\n';
        ++i;
      } else {
        out += text[i];
      }
    }
    return out;
  }
  return {};
}

// Returns the conversation with the template's default system prompt in front when it has none.
std::vector<ChatMessage> with_default_system(const std::vector<ChatMessage>& m, const std::string& system) {
  if (system.empty() || (!m.empty() && m.front().role == "system")) return m;
  std::vector<ChatMessage> out;
  out.reserve(m.size() + 1);
  out.push_back({"system", system});
  out.insert(out.end(), m.begin(), m.end());
  return out;
}

// Folds a leading system message into the first user message (formats without a system role).
std::vector<ChatMessage> fold_system(const std::vector<ChatMessage>& m) {
  if (m.empty() || m.front().role != "system") return m;
  std::vector<ChatMessage> out;
  out.reserve(m.size());
  size_t next = 1;
  if (m.size() > 1 && m[1].role == "user") {
    out.push_back({"user", m.front().content + "\n\n" + m[1].content});
    next = 2;
  } else {
    out.push_back({"user", m.front().content});
  }
  out.insert(out.end(), m.begin() + long(next), m.end());
  return out;
}

}  // namespace

const char* chat_format_name(ChatFormat f) {
  switch (f) {
    case ChatFormat::kChatML:
      return "chatml";
    case ChatFormat::kLlama3:
      return "llama3";
    case ChatFormat::kMistral:
      return "mistral";
    case ChatFormat::kGemma:
      return "gemma";
  }
  return "?";
}

bool ChatTemplate::detect(std::string_view jinja, ChatTemplate& out) {
  // The most specific markers first: `[INST]` also appears in templates that merely mention it.
  const auto has = [&](std::string_view marker) { return jinja.find(marker) != std::string_view::npos; };
  if (has("<|start_header_id|>") && has("<|eot_id|>")) {
    out = ChatTemplate(ChatFormat::kLlama3);
  } else if (has("<start_of_turn>")) {
    out = ChatTemplate(ChatFormat::kGemma);
  } else if (has("<|im_start|>")) {
    out = ChatTemplate(ChatFormat::kChatML);
    out.default_system_ = chatml_default_system(jinja);
  } else if (has("[INST]")) {
    out = ChatTemplate(ChatFormat::kMistral);
  } else {
    out = ChatTemplate(ChatFormat::kChatML);
    return false;
  }
  return true;
}

std::vector<std::string> ChatTemplate::required_tokens() const {
  switch (format_) {
    case ChatFormat::kChatML:
      return {"<|im_start|>", "<|im_end|>"};
    case ChatFormat::kLlama3:
      return {"<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"};
    case ChatFormat::kGemma:
      return {"<start_of_turn>", "<end_of_turn>"};
    case ChatFormat::kMistral:
      return {};  // [INST] is plain text in the formats kq renders
  }
  return {};
}

ChatTemplate ChatTemplate::for_model(const GgufFile& file, const Tokenizer& tok, std::string* warning) {
  const std::string jinja = file.get_string("tokenizer.chat_template");
  ChatTemplate t;
  const bool known = detect(jinja, t);
  if (!known && warning)
    *warning = jinja.empty() ? "the model has no tokenizer.chat_template; using ChatML"
                             : "unrecognized tokenizer.chat_template; using ChatML";
  std::string missing;
  for (const std::string& name : t.required_tokens())
    if (!tok.find_token(name)) missing += (missing.empty() ? "" : ", ") + name;
  if (!missing.empty())
    throw Error(std::string(known ? "the chat template's format (" : "the fallback chat format (") +
                chat_format_name(t.format_) + ") needs tokens the vocabulary lacks: " + missing);
  if (tok.eos() >= 0) t.eos_text_ = tok.token_to_piece(tok.eos());
  return t;
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  switch (format_) {
    case ChatFormat::kChatML:
      return render_chatml(messages, add_generation_prompt);
    case ChatFormat::kLlama3:
      return render_llama3(messages, add_generation_prompt);
    case ChatFormat::kMistral:
      return render_mistral(messages, add_generation_prompt);
    case ChatFormat::kGemma:
      return render_gemma(messages, add_generation_prompt);
  }
  return {};
}

std::vector<int32_t> ChatTemplate::encode(const Tokenizer& tok, const std::vector<ChatMessage>& messages,
                                          bool add_generation_prompt) const {
  // add_special would also append EOS on vocabularies that add it, which ends the prompt early;
  // BOS is added here instead.
  const std::vector<int32_t> text_ids =
      tok.encode(render(messages, add_generation_prompt), /*add_special=*/false, /*parse_special=*/true);
  const bool format_bos = format_ != ChatFormat::kChatML;
  std::vector<int32_t> ids;
  ids.reserve(text_ids.size() + 1);
  if ((format_bos || tok.add_bos()) && tok.bos() >= 0) ids.push_back(tok.bos());
  ids.insert(ids.end(), text_ids.begin(), text_ids.end());
  return ids;
}

std::string ChatTemplate::render_chatml(const std::vector<ChatMessage>& m, bool gen) const {
  std::string out;
  for (const ChatMessage& msg : with_default_system(m, default_system_))
    out += "<|im_start|>" + msg.role + "\n" + msg.content + "<|im_end|>\n";
  if (gen) out += "<|im_start|>assistant\n";
  return out;
}

std::string ChatTemplate::render_llama3(const std::vector<ChatMessage>& m, bool gen) const {
  std::string out;
  for (const ChatMessage& msg : with_default_system(m, default_system_))
    out += "<|start_header_id|>" + msg.role + "<|end_header_id|>\n\n" + trim(msg.content) + "<|eot_id|>";
  if (gen) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

// Mistral Instruct v0.2's layout: `[INST] user [/INST]assistant</s>[INST] ...`. It has no system
// role; a system message becomes the first paragraph of the first user message.
std::string ChatTemplate::render_mistral(const std::vector<ChatMessage>& m, bool gen) const {
  std::string out;
  for (const ChatMessage& msg : fold_system(with_default_system(m, default_system_))) {
    if (msg.role == "assistant")
      out += msg.content + eos_text_;
    else
      out += "[INST] " + msg.content + " [/INST]";
  }
  // The prompt already ends where the assistant's reply starts.
  (void)gen;
  return out;
}

// Gemma calls the assistant "model" and has no system role (Gemma 3 folds it into the first user turn).
std::string ChatTemplate::render_gemma(const std::vector<ChatMessage>& m, bool gen) const {
  std::string out;
  for (const ChatMessage& msg : fold_system(with_default_system(m, default_system_))) {
    const std::string role = msg.role == "assistant" ? "model" : msg.role;
    out += "<start_of_turn>" + role + "\n" + trim(msg.content) + "<end_of_turn>\n";
  }
  if (gen) out += "<start_of_turn>model\n";
  return out;
}

}  // namespace kq

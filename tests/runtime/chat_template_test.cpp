// ChatTemplate tests: format detection from real Jinja templates, exact renderings, GGUF integration.
#include "runtime/chat_template.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/kq/default_model.h"
#include "common/error.h"
#include "formats/gguf.h"
#include "runtime/tokenizer.h"
#include "tests/support/testdata.h"

namespace kq {
namespace {

// The templates as the models' GGUF files carry them (data, abbreviated where noted).
constexpr const char* kSmolLm2Jinja =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    "' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
constexpr const char* kQwenLikeJinja =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
constexpr const char* kLlama3Jinja =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 "
    "%}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";
constexpr const char* kGemmaJinja =
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'assistant') %}{% set role = 'model' "
    "%}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + "
    "message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt "
    "%}{{'<start_of_turn>model\n'}}{% endif %}";
constexpr const char* kMistralJinja =
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + "
    "message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + "
    "eos_token}}{% endif %}{% endfor %}";

const std::vector<ChatMessage> kConversation = {
    {"system", "Be brief."},
    {"user", "Hi"},
    {"assistant", "Hello!"},
    {"user", " What is 2+2? "},
};

}  // namespace

TEST_CASE("chat formats are detected from their Jinja markers", "[chat]") {
  ChatTemplate t;
  CHECK(ChatTemplate::detect(kSmolLm2Jinja, t));
  CHECK(t.format() == ChatFormat::kChatML);
  CHECK(t.default_system() == "You are a helpful AI assistant named SmolLM, trained by Hugging Face");

  CHECK(ChatTemplate::detect(kQwenLikeJinja, t));
  CHECK(t.format() == ChatFormat::kChatML);
  CHECK(t.default_system().empty());  // the only system text there is the user's own

  CHECK(ChatTemplate::detect(kLlama3Jinja, t));
  CHECK(t.format() == ChatFormat::kLlama3);
  CHECK(ChatTemplate::detect(kGemmaJinja, t));
  CHECK(t.format() == ChatFormat::kGemma);
  CHECK(ChatTemplate::detect(kMistralJinja, t));
  CHECK(t.format() == ChatFormat::kMistral);

  CHECK_FALSE(ChatTemplate::detect("{{ messages }}", t));
  CHECK(t.format() == ChatFormat::kChatML);
  CHECK_FALSE(ChatTemplate::detect("", t));
  CHECK(std::string(chat_format_name(ChatFormat::kGemma)) == "gemma");
}

TEST_CASE("a literal default system prompt written with backslash-n escapes is found", "[chat]") {
  ChatTemplate t;
  REQUIRE(ChatTemplate::detect(
      "{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are Qwen.\\nBe kind.<|im_end|>\\n' "
      "}}{% endif %}",
      t));
  CHECK(t.default_system() == "You are Qwen.\nBe kind.");
}

TEST_CASE("ChatML renders exactly", "[chat]") {
  const ChatTemplate t(ChatFormat::kChatML);
  CHECK(t.render(kConversation, true) ==
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello!<|im_end|>\n"
        "<|im_start|>user\n What is 2+2? <|im_end|>\n"
        "<|im_start|>assistant\n");
  CHECK(t.render({{"user", "Hi"}}, false) == "<|im_start|>user\nHi<|im_end|>\n");
  CHECK(t.render({}, true) == "<|im_start|>assistant\n");
}

TEST_CASE("ChatML with a default system prompt inserts it only when there is none", "[chat]") {
  ChatTemplate t;
  REQUIRE(ChatTemplate::detect(kSmolLm2Jinja, t));
  CHECK(t.render({{"user", "Hi"}}, true) ==
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  CHECK(t.render({{"system", "S"}, {"user", "Hi"}}, false) ==
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
}

TEST_CASE("Llama 3 renders exactly, contents trimmed", "[chat]") {
  const ChatTemplate t(ChatFormat::kLlama3);
  CHECK(t.render(kConversation, true) ==
        "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n");
  CHECK(t.render({{"user", "Hi"}}, false) == "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
}

TEST_CASE("Mistral renders exactly, system folded into the first user turn", "[chat]") {
  ChatTemplate t(ChatFormat::kMistral);
  CHECK(t.render(kConversation, true) == "[INST] Be brief.\n\nHi [/INST]Hello!</s>[INST]  What is 2+2?  [/INST]");
  t.set_eos_text("<EOS>");
  CHECK(t.render({{"user", "a"}, {"assistant", "b"}}, false) == "[INST] a [/INST]b<EOS>");
  CHECK(t.render({{"system", "only"}}, true) == "[INST] only [/INST]");
}

TEST_CASE("Gemma renders exactly, assistant as model", "[chat]") {
  const ChatTemplate t(ChatFormat::kGemma);
  CHECK(t.render(kConversation, true) ==
        "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
        "<start_of_turn>model\nHello!<end_of_turn>\n"
        "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n"
        "<start_of_turn>model\n");
  CHECK(t.render({{"user", "x"}}, false) == "<start_of_turn>user\nx<end_of_turn>\n");
}

TEST_CASE("required tokens per format", "[chat]") {
  CHECK(ChatTemplate(ChatFormat::kChatML).required_tokens() == std::vector<std::string>{"<|im_start|>", "<|im_end|>"});
  CHECK(ChatTemplate(ChatFormat::kGemma).required_tokens().size() == 2);
  CHECK(ChatTemplate(ChatFormat::kLlama3).required_tokens().size() == 3);
  CHECK(ChatTemplate(ChatFormat::kMistral).required_tokens().empty());
}

TEST_CASE("a vocabulary without a chat template or ChatML tokens is an error naming them", "[chat]") {
  const GgufFile file = GgufFile::open(test::testdata_file("vocab/ggml-vocab-gpt-2.gguf"));
  const auto tok = Tokenizer::from_gguf(file);
  std::string warning;
  try {
    (void)ChatTemplate::for_model(file, *tok, &warning);
    FAIL("expected a kq::Error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("chatml") != std::string::npos);
    CHECK(msg.find("<|im_start|>, <|im_end|>") != std::string::npos);
  }
  CHECK(warning.find("no tokenizer.chat_template") != std::string::npos);
}

TEST_CASE("SmolLM2's GGUF template is ChatML with its default system prompt", "[chat]") {
  const std::string path = app::default_model_path();
  if (!std::filesystem::exists(path)) FAIL("default model missing at " << path << ": run scripts/setup --model");
  const GgufFile file = GgufFile::open(path);
  const auto tok = Tokenizer::from_gguf(file);
  std::string warning;
  const ChatTemplate t = ChatTemplate::for_model(file, *tok, &warning);
  CHECK(warning.empty());
  CHECK(t.format() == ChatFormat::kChatML);
  CHECK(t.default_system() == "You are a helpful AI assistant named SmolLM, trained by Hugging Face");

  const std::vector<ChatMessage> msgs{{"user", "Hi"}};
  const std::vector<int32_t> ids = t.encode(*tok, msgs, true);
  REQUIRE(ids.size() > 6);
  // SmolLM2 adds no BOS: the prompt starts with the template's own <|im_start|>.
  CHECK(ids.front() == *tok->find_token("<|im_start|>"));
  CHECK(tok->token_to_piece(ids.back()) == "\n");
  CHECK(tok->decode(ids) == t.render(msgs, true));
  // Every special token of the template is one id, not spelled out.
  int n_start = 0;
  for (const int32_t id : ids) n_start += id == *tok->find_token("<|im_start|>") ? 1 : 0;
  CHECK(n_start == 3);
}

}  // namespace kq

// Unicode helpers behind the tokenizers: lenient UTF-8, White_Space, GPT-2 byte map.
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "runtime/unicode.h"

namespace u = kq::unicode;

TEST_CASE("unicode: UTF-8 decode and encode", "[tokenizer]") {
  CHECK(u::to_codepoints("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x81") == std::vector<uint32_t>{'a', 0xE9, 0x20AC, 0x1F601});
  for (const uint32_t cp : {0x0u, 0x7Fu, 0x80u, 0x7FFu, 0x800u, 0xFFFFu, 0x10000u, 0x10FFFFu})
    CHECK(u::to_codepoints(u::to_utf8(cp)) == std::vector<uint32_t>{cp});
  // Malformed bytes become U+FFFD one byte at a time; a truncated sequence too.
  CHECK(u::to_codepoints("\xFF"
                         "a\xE2\x82") == std::vector<uint32_t>{0xFFFD, 'a', 0xFFFD, 0xFFFD});
  // Overlong forms decode (llama.cpp does not reject them).
  CHECK(u::to_codepoints("\xC1\x81") == std::vector<uint32_t>{'A'});
  CHECK(u::to_utf8(0x110000) == "\xEF\xBF\xBD");
  CHECK(u::utf8_sequence_length(0xF0) == 4);
  CHECK(u::utf8_sequence_length(0x80) == 1);
}

TEST_CASE("unicode: White_Space", "[tokenizer]") {
  for (const uint32_t cp : {0x09u, 0x0Au, 0x0Bu, 0x0Du, 0x20u, 0x85u, 0xA0u, 0x2000u, 0x2028u, 0x3000u})
    CHECK(u::is_white_space(cp));
  for (const uint32_t cp : {0x08u, 0x1Cu, 0x180Eu, 0x200Bu, 0xFEFFu, 0x61u}) CHECK_FALSE(u::is_white_space(cp));
}

TEST_CASE("unicode: GPT-2 byte map is a bijection onto printable characters", "[tokenizer]") {
  std::set<uint32_t> images;
  for (int b = 0; b < 256; ++b) {
    const uint32_t cp = u::byte_to_codepoint(static_cast<uint8_t>(b));
    images.insert(cp);
    CHECK(u::codepoint_to_byte(cp) == static_cast<uint8_t>(b));
    CHECK(u::byte_to_utf8(static_cast<uint8_t>(b)) == u::to_utf8(cp));
  }
  CHECK(images.size() == 256);
  CHECK(u::byte_to_codepoint(' ') == 0x120);   // "Ġ"
  CHECK(u::byte_to_codepoint('\n') == 0x10A);  // "Ċ"
  CHECK(u::byte_to_codepoint('A') == 'A');
  CHECK(u::byte_to_codepoint(0xAD) == 0x143);  // soft hyphen is the last remapped byte
  CHECK_FALSE(u::codepoint_to_byte(0x144).has_value());
  CHECK_FALSE(u::codepoint_to_byte(0x20).has_value());
}

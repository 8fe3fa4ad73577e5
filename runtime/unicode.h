// Unicode helpers for the tokenizers: lenient UTF-8 decoding, White_Space, GPT-2 byte<->unicode map.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kq::unicode {

constexpr uint32_t kReplacementChar = 0xFFFD;

// Returns the byte length a UTF-8 sequence claims from its lead byte (1 for stray continuation
// bytes), the way llama.cpp steps through text it has not validated.
size_t utf8_sequence_length(uint8_t lead);

// Decodes one code point at `offset` and advances it. Malformed input yields U+FFFD and advances
// one byte; overlong forms are accepted (as llama.cpp does), so re-encoding normalizes them.
uint32_t decode_utf8(std::string_view text, size_t& offset);

// Decodes a whole string with decode_utf8; code points above U+10FFFF become U+FFFD.
std::vector<uint32_t> to_codepoints(std::string_view text);

// Appends the UTF-8 encoding of `cp` (U+FFFD for values above U+10FFFF).
void append_utf8(std::string& out, uint32_t cp);
std::string to_utf8(uint32_t cp);

// True for the Unicode White_Space property (PropList.txt).
bool is_white_space(uint32_t cp);

// GPT-2's reversible byte -> printable code point map used by byte-level BPE vocabularies.
uint32_t byte_to_codepoint(uint8_t byte);
// The UTF-8 text of byte_to_codepoint(byte).
const std::string& byte_to_utf8(uint8_t byte);
// Inverse of byte_to_codepoint; nullopt for code points outside the map.
std::optional<uint8_t> codepoint_to_byte(uint32_t cp);

}  // namespace kq::unicode

// Unicode helpers for the tokenizers: lenient UTF-8 decoding, White_Space, GPT-2 byte<->unicode map.
#include "runtime/unicode.h"

#include <array>

#include "common/utf8.h"

namespace kq::unicode {

size_t utf8_sequence_length(uint8_t lead) {
  // Indexed by the high nibble: 0xxx -> 1, 10xx (continuation) -> 1, 110x -> 2, 1110 -> 3, 1111 -> 4.
  static constexpr std::array<uint8_t, 16> kLengths{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLengths[lead >> 4];
}

uint32_t decode_utf8(std::string_view text, size_t& offset) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[offset + i]); };
  const auto is_cont = [&](size_t i) { return offset + i < text.size() && (byte(i) & 0xC0) == 0x80; };
  const uint8_t b0 = byte(0);
  if (b0 < 0x80) {
    offset += 1;
    return b0;
  }
  uint32_t cp = kReplacementChar;
  size_t len = 1;
  if ((b0 & 0xE0) == 0xC0 && is_cont(1)) {
    cp = (uint32_t(b0 & 0x1F) << 6) | (byte(1) & 0x3F);
    len = 2;
  } else if ((b0 & 0xF0) == 0xE0 && is_cont(1) && is_cont(2)) {
    cp = (uint32_t(b0 & 0x0F) << 12) | (uint32_t(byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
    len = 3;
  } else if ((b0 & 0xF8) == 0xF0 && is_cont(1) && is_cont(2) && is_cont(3)) {
    cp = (uint32_t(b0 & 0x07) << 18) | (uint32_t(byte(1) & 0x3F) << 12) | (uint32_t(byte(2) & 0x3F) << 6) |
         (byte(3) & 0x3F);
    len = 4;
  }
  offset += len;
  return cp;
}

std::vector<uint32_t> to_codepoints(std::string_view text) {
  std::vector<uint32_t> cps;
  cps.reserve(text.size());
  size_t offset = 0;
  while (offset < text.size()) {
    const uint32_t cp = decode_utf8(text, offset);
    cps.push_back(cp > 0x10FFFF ? kReplacementChar : cp);
  }
  return cps;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp > 0x10FFFF) cp = kReplacementChar;
  utf8_encode(out, cp);
}

std::string to_utf8(uint32_t cp) {
  std::string s;
  append_utf8(s, cp);
  return s;
}

bool is_white_space(uint32_t cp) {
  // PropList.txt White_Space; note U+180E and U+200B are *not* in it (they are format characters).
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

namespace {

struct ByteMap {
  std::array<uint32_t, 256> to_cp{};
  std::array<std::string, 256> to_text;
  std::array<int16_t, 256 + 68> from_cp{};  // -1 where a code point is not an image of a byte
};

// GPT-2 keeps the printable Latin-1 bytes as themselves and moves the other 68 bytes
// (controls, space, DEL, NBSP, soft hyphen) to U+0100.. in byte order, so every byte prints.
const ByteMap& byte_map() {
  static const ByteMap map = [] {
    ByteMap m;
    uint32_t next = 256;
    m.from_cp.fill(-1);
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      m.to_cp[b] = printable ? b : next++;
      m.to_text[b] = to_utf8(m.to_cp[b]);
      m.from_cp[m.to_cp[b]] = static_cast<int16_t>(b);
    }
    return m;
  }();
  return map;
}

}  // namespace

uint32_t byte_to_codepoint(uint8_t byte) {
  return byte_map().to_cp[byte];
}

const std::string& byte_to_utf8(uint8_t byte) {
  return byte_map().to_text[byte];
}

std::optional<uint8_t> codepoint_to_byte(uint32_t cp) {
  const auto& from = byte_map().from_cp;
  if (cp >= from.size() || from[cp] < 0) return std::nullopt;
  return static_cast<uint8_t>(from[cp]);
}

}  // namespace kq::unicode
